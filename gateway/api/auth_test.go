package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/gateway/config"
)

func (n *node) login(t *testing.T, user, pw string) (int, string, bool, []byte) {
	t.Helper()
	st, body := n.do(t, noAuth, "POST", "/api/v5/login", map[string]string{"username": user, "password": pw})
	var r struct {
		Token              string `json:"token"`
		MustChangePassword bool   `json:"must_change_password"`
	}
	_ = json.Unmarshal(body, &r)
	return st, r.Token, r.MustChangePassword, body
}

func TestLoginAndDefaultPasswordChange(t *testing.T) {
	n := start(t, nil)
	if st, _, _, body := n.login(t, "admin", "wrong"); st != 401 || errCode(body) != "BAD_USERNAME_OR_PWD" {
		t.Fatalf("bad password: %d %s", st, body)
	}
	if st, _, _, body := n.login(t, "nobody", "public"); st != 401 {
		t.Fatalf("unknown user: %d %s", st, body)
	}
	st, tok, must, body := n.login(t, "admin", "public")
	if st != 200 || tok == "" || !must {
		t.Fatalf("default login: %d %s", st, body)
	}
	// The default password's token allows only change_pwd.
	if st, body := n.do(t, bearer(tok), "GET", "/api/v5/clients", nil); st != 403 || errCode(body) != "PASSWORD_CHANGE_REQUIRED" {
		t.Fatalf("restricted token: %d %s", st, body)
	}
	cases := []struct {
		name string
		body map[string]string
		want int
	}{
		{"wrong old password", map[string]string{"old_pwd": "nope", "new_pwd": "s3cret-pass"}, 400},
		{"new password too short", map[string]string{"old_pwd": "public", "new_pwd": "short"}, 400},
		{"same password", map[string]string{"old_pwd": "public", "new_pwd": "public"}, 400},
		{"good", map[string]string{"old_pwd": "public", "new_pwd": "s3cret-pass"}, 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, bearer(tok), "POST", "/api/v5/users/admin/change_pwd", tc.body); st != tc.want {
				t.Fatalf("change_pwd: %d %s, want %d", st, body, tc.want)
			}
		})
	}
	if st, body := n.do(t, bearer(tok), "GET", "/api/v5/clients", nil); st != 200 {
		t.Fatalf("token after the change: %d %s", st, body)
	}
	if st, _, _, _ := n.login(t, "admin", "public"); st != 401 {
		t.Fatal("the old password still logs in")
	}
	st, tok2, must, _ := n.login(t, "admin", "s3cret-pass")
	if st != 200 || must {
		t.Fatalf("new password login: %d must_change=%v", st, must)
	}
	// Logout revokes the token.
	if st, _ := n.do(t, bearer(tok2), "POST", "/api/v5/logout", nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if st, body := n.do(t, bearer(tok2), "GET", "/api/v5/clients", nil); st != 401 || errCode(body) != "BAD_TOKEN" {
		t.Fatalf("token after logout: %d %s", st, body)
	}
	// The password is stored hashed, in a 0600 file.
	p := filepath.Join(n.dataDir, "api", "auth.json")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
	}
	data, _ := os.ReadFile(p)
	if strings.Contains(string(data), "s3cret-pass") || !strings.Contains(string(data), "pbkdf2-sha256$") {
		t.Errorf("auth.json does not hold a PBKDF2 hash only:\n%s", data)
	}
}

func TestUnauthenticatedRequests(t *testing.T) {
	n := start(t, nil)
	cases := []struct {
		name string
		a    auth
		path string
		want int
		code string
	}{
		{"no credentials", noAuth, "/api/v5/clients", 401, "UNAUTHORIZED"},
		{"bad token", bearer("deadbeef"), "/api/v5/clients", 401, "BAD_TOKEN"},
		{"bad API secret", basic(n.key, "wrong"), "/api/v5/clients", 401, "BAD_API_KEY_OR_SECRET"},
		{"unknown API key", basic("nokey", "x"), "/api/v5/clients", 401, "BAD_API_KEY_OR_SECRET"},
		{"ctl API key", n.keyAuth(), "/api/v5/clients", 200, ""},
		{"status is public", noAuth, "/api/v5/status", 200, ""},
		{"metrics are public", noAuth, "/metrics", 200, ""},
		{"prometheus stats are public", noAuth, "/api/v5/prometheus/stats", 200, ""},
		{"swagger is public", noAuth, "/api-docs/swagger.json", 200, ""},
		{"unknown path", n.keyAuth(), "/api/v5/nothing", 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := n.do(t, tc.a, "GET", tc.path, nil)
			if st != tc.want || (tc.code != "" && errCode(body) != tc.code) {
				t.Fatalf("%d %s, want %d %s", st, body, tc.want, tc.code)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	n := start(t, nil)
	for i := 0; i < 5; i++ {
		if st, _, _, _ := n.login(t, "admin", "bad"); st != 401 {
			t.Fatalf("attempt %d: %d", i+1, st)
		}
	}
	// Locked out, even with the right password.
	if st, _, _, body := n.login(t, "admin", "public"); st != 429 || errCode(body) != "LOGIN_LOCKED" {
		t.Fatalf("after 5 failures: %d %s", st, body)
	}
	// Another username from the same address is not locked.
	if st, _, _, _ := n.login(t, "other", "x"); st != 401 {
		t.Fatalf("other user: %d", st)
	}
}

func TestTokenExpires(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dashboard.TokenExpiredTime = config.Duration(time.Second)
	n := start(t, cfg)
	_, tok, _, _ := n.login(t, "admin", "public")
	if st, _ := n.do(t, bearer(tok), "POST", "/api/v5/users/admin/change_pwd", map[string]string{"old_pwd": "public", "new_pwd": "another-pass"}); st != 204 {
		t.Fatalf("change_pwd: %d", st)
	}
	var last []byte
	if !eventually(5*time.Second, func() bool {
		st, body := n.do(t, bearer(tok), "GET", "/api/v5/nodes", nil)
		last = body
		return st == 401
	}) {
		t.Fatal("token still valid after token_expired_time")
	}
	if errCode(last) != "TOKEN_TIME_OUT" {
		t.Fatalf("expired token: %s", last)
	}
}

func TestAPIKeys(t *testing.T) {
	n := start(t, nil)
	st, body := n.do(t, n.keyAuth(), "POST", "/api/v5/api_key", map[string]any{"name": "script", "desc": "ci"})
	if st != 200 {
		t.Fatalf("create: %d %s", st, body)
	}
	var k struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
		Enable    bool
	}
	json.Unmarshal(body, &k)
	if k.APIKey == "" || k.APISecret == "" || !k.Enable {
		t.Fatalf("create: %s", body)
	}
	key := basic(k.APIKey, k.APISecret)
	if st, _ := n.do(t, key, "GET", "/api/v5/nodes", nil); st != 200 {
		t.Fatalf("new key: %d", st)
	}
	cases := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"duplicate name", "POST", "/api/v5/api_key", map[string]any{"name": "script"}, 409},
		{"no name", "POST", "/api/v5/api_key", map[string]any{}, 400},
		{"bad expiry", "POST", "/api/v5/api_key", map[string]any{"name": "x", "expired_at": "tomorrow"}, 400},
		{"get", "GET", "/api/v5/api_key/script", nil, 200},
		{"get unknown", "GET", "/api/v5/api_key/nope", nil, 404},
		{"list", "GET", "/api/v5/api_key", nil, 200},
		{"disable", "PUT", "/api/v5/api_key/script", map[string]any{"enable": false}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), tc.method, tc.path, tc.body); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	if st, body := n.do(t, key, "GET", "/api/v5/nodes", nil); st != 401 || errCode(body) != "API_KEY_NOT_ALLOW" {
		t.Fatalf("disabled key: %d %s", st, body)
	}
	if st, _ := n.do(t, n.keyAuth(), "DELETE", "/api/v5/api_key/script", nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := n.do(t, key, "GET", "/api/v5/nodes", nil); st != 401 {
		t.Fatalf("deleted key: %d", st)
	}
	// The stored secret is a hash.
	data, _ := os.ReadFile(filepath.Join(n.dataDir, "api", "auth.json"))
	if strings.Contains(string(data), k.APISecret) {
		t.Fatal("auth.json holds an API secret in clear")
	}
}

func TestBootstrapKeys(t *testing.T) {
	cfg := testConfig(t)
	f := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(f, []byte("# keys\nboot-key:boot-secret\n\n"), 0o600)
	cfg.APIKey.BootstrapFile = f
	n := start(t, cfg)
	if st, _ := n.do(t, basic("boot-key", "boot-secret"), "GET", "/api/v5/nodes", nil); st != 200 {
		t.Fatalf("bootstrap key: %d", st)
	}
}

func TestUsers(t *testing.T) {
	n := start(t, nil)
	cases := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"create", "POST", "/api/v5/users", map[string]string{"username": "ops", "password": "ops-password", "description": "d"}, 200},
		{"create again", "POST", "/api/v5/users", map[string]string{"username": "ops", "password": "ops-password"}, 409},
		{"weak password", "POST", "/api/v5/users", map[string]string{"username": "x", "password": "1"}, 400},
		{"bad JSON", "POST", "/api/v5/users", "{", 400},
		{"list", "GET", "/api/v5/users", nil, 200},
		{"describe", "PUT", "/api/v5/users/ops", map[string]string{"description": "operator"}, 200},
		{"describe unknown", "PUT", "/api/v5/users/nope", map[string]string{"description": "x"}, 404},
		{"reset password with a key", "POST", "/api/v5/users/ops/change_pwd", map[string]string{"new_pwd": "ops-password-2"}, 204},
		{"delete", "DELETE", "/api/v5/users/ops", nil, 204},
		{"delete unknown", "DELETE", "/api/v5/users/ops", nil, 404},
		{"delete the last user", "DELETE", "/api/v5/users/admin", nil, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if st, body := n.do(t, n.keyAuth(), tc.method, tc.path, tc.body); st != tc.want {
				t.Fatalf("%d %s, want %d", st, body, tc.want)
			}
		})
	}
	// A user's token may not change another user's password.
	n.do(t, n.keyAuth(), "POST", "/api/v5/users", map[string]string{"username": "u2", "password": "u2-password"})
	_, tok, _, _ := n.login(t, "u2", "u2-password")
	if st, _ := n.do(t, bearer(tok), "POST", "/api/v5/users/admin/change_pwd", map[string]string{"old_pwd": "x", "new_pwd": "hijacked-1"}); st != http.StatusForbidden {
		t.Fatalf("changing another's password: %d", st)
	}
}

func TestCtlCredentialFile(t *testing.T) {
	n := start(t, nil)
	fi, err := os.Stat(filepath.Join(n.dataDir, "ctl.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("ctl.key mode %v", fi.Mode().Perm())
	}
	// The ctl key is never stored with the users.
	data, _ := os.ReadFile(filepath.Join(n.dataDir, "api", "auth.json"))
	if strings.Contains(string(data), n.key) {
		t.Fatal("the ctl key was written to auth.json")
	}
}

func TestMuxErrorsAreJSON(t *testing.T) {
	n := start(t, nil)
	cases := []struct {
		method, path string
		want         int
		code         string
	}{
		{"GET", "/api/v5/nothing", 404, "NOT_FOUND"},
		{"GET", "/api", 404, "NOT_FOUND"}, // "/" is the dashboard (ui_test.go)
		{"PATCH", "/api/v5/clients", 405, "METHOD_NOT_ALLOWED"},
		{"POST", "/api/v5/status", 405, "METHOD_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			st, body := n.do(t, n.keyAuth(), tc.method, tc.path, nil)
			if st != tc.want || errCode(body) != tc.code {
				t.Fatalf("%d %s, want %d %s", st, body, tc.want, tc.code)
			}
		})
	}
}
