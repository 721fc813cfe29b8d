package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDashboardBesideAPI: the gateway mounts the web dashboard on the API's
// listener; the API's own paths keep answering as before.
func TestDashboardBesideAPI(t *testing.T) {
	n := start(t, nil)
	cases := []struct {
		path   string
		status int
		ctype  string
		has    string
	}{
		{"/", 200, "text/html", `id="app"`},
		{"/clients", 200, "text/html", `id="app"`},
		{"/app.js", 200, "text/javascript", "import"},
		{"/api/v5/no-such-path", 404, "application/json", `"code":"NOT_FOUND"`},
		{"/api/nothing", 404, "application/json", `"code":"NOT_FOUND"`},
		{"/api/v5/status", 200, "text/plain", "is started"},
		{"/api/v5/clients", 401, "application/json", `"code"`},
		{"/api-docs/swagger.json", 200, "application/json", `"openapi"`},
		{"/metrics", 200, "text/plain", "# TYPE"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, err := http.Get(n.base + c.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.has) {
				t.Fatalf("%d %q %.200s; want %d %s containing %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.ctype, c.has)
			}
		})
	}
}
