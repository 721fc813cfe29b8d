package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/gateway/dashboard"
)

func TestServing(t *testing.T) {
	h := dashboard.Handler()
	cases := []struct {
		name, method, path string
		status             int
		ctype              string
		bodyHas            string
	}{
		{"index at root", "GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"index by name", "GET", "/index.html", 200, "text/html; charset=utf-8", "<title>Manifold"},
		{"SPA route falls back to index", "GET", "/clients", 200, "text/html; charset=utf-8", `id="app"`},
		{"deep SPA route", "GET", "/clients/abc/detail", 200, "text/html; charset=utf-8", `id="app"`},
		{"app module", "GET", "/app.js", 200, "text/javascript; charset=utf-8", "import"},
		{"mqtt module", "GET", "/mqtt.js", 200, "text/javascript; charset=utf-8", "export class MQTTClient"},
		{"chart module", "GET", "/chart.js", 200, "text/javascript; charset=utf-8", "export"},
		{"stylesheet", "GET", "/style.css", 200, "text/css; charset=utf-8", "body"},
		{"missing asset is 404", "GET", "/nope.js", 404, "text/plain; charset=utf-8", "not found"},
		{"HEAD", "HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"POST refused", "POST", "/", 405, "text/plain; charset=utf-8", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if got := rec.Header().Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if !strings.Contains(rec.Body.String(), c.bodyHas) {
				t.Errorf("body does not contain %q:\n%.300s", c.bodyHas, rec.Body.String())
			}
			csp := rec.Header().Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline or eval: %q", csp)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
}

func TestRevalidation(t *testing.T) {
	h := dashboard.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation answered %d, want 304", rec.Code)
	}
}

// TestNoInlineCode keeps the pages within the CSP: no inline scripts, event
// handler attributes or style attributes, and nothing loaded from elsewhere.
func TestNoInlineCode(t *testing.T) {
	h := dashboard.Handler()
	for _, p := range []string{"/index.html", "/app.js", "/mqtt.js", "/chart.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		body := rec.Body.String()
		for _, bad := range []string{"<script>", " onclick=", " onload=", " style=\"", "src=\"http", "href=\"http", "from 'http", "import('http", "eval(", "innerHTML"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
	}
}
