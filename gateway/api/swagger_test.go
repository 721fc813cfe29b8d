package api

import (
	"strings"
	"testing"

	"github.com/manifold-iot/manifold/core/hooks"
)

// stubNode is enough of a Node to build the API's routes and document.
type stubNode struct{ Node }

func (stubNode) Version() string { return "test" }

func (stubNode) Banned() *hooks.Banned { return nil }

func TestOpenAPIHasEveryRoute(t *testing.T) {
	a, err := New(stubNode{}, Options{DataDir: t.TempDir(), DefaultUsername: "admin", DefaultPassword: "public", HashIterations: 1})
	if err != nil {
		t.Fatal(err)
	}
	paths := a.openAPI()["paths"].(map[string]map[string]any)
	if len(a.routes) < 50 {
		t.Fatalf("only %d routes registered", len(a.routes))
	}
	for _, rt := range a.routes {
		p, params := openAPIPath(rt.path)
		op, ok := paths[p][strings.ToLower(rt.method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s is not in swagger.json (as %s)", rt.method, rt.path, p)
			continue
		}
		if n := len(params); n > 0 {
			if ps, _ := op["parameters"].([]any); len(ps) != n {
				t.Errorf("%s %s: %d path parameters documented, want %d", rt.method, rt.path, len(ps), n)
			}
		}
	}
	if p, params := openAPIPath("/api/v5/retainer/message/{topic...}"); p != "/api/v5/retainer/message/{topic}" || len(params) != 1 {
		t.Errorf("openAPIPath of a wildcard: %s %v", p, params)
	}
}
