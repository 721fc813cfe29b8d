package api

import (
	"net/http"
	"regexp"
	"strings"
)

// swagger serves an OpenAPI 3 document built from the route table: every
// registered path and method, with its summary, tag and security.
func (a *API) swagger(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.openAPI())
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)(\.\.\.)?\}`)

// openAPIPath turns a ServeMux pattern path into an OpenAPI path
// ("{topic...}" becomes "{topic}") and lists its parameters.
func openAPIPath(p string) (string, []string) {
	var params []string
	for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
		params = append(params, m[1])
	}
	return pathParam.ReplaceAllString(p, "{$1}"), params
}

func (a *API) openAPI() map[string]any {
	paths := map[string]map[string]any{}
	errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{
		"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	for _, rt := range a.routes {
		p, params := openAPIPath(rt.path)
		op := map[string]any{
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
			"operationId": strings.ToLower(rt.method) + strings.NewReplacer("/", "_", "{", "", "}", "", ".", "").Replace(rt.path),
			"responses": map[string]any{
				"200":     map[string]any{"description": "success"},
				"default": errResp,
			},
		}
		if rt.public {
			op["security"] = []any{}
		}
		var ps []any
		for _, name := range params {
			ps = append(ps, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Manifold HTTP API", "version": a.node.Version(),
			"description": "EMQX 5 compatible REST API. Authenticate with a bearer token from POST /api/v5/login or an API key (basic auth)."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearerAuth": map[string]string{"type": "http", "scheme": "bearer"},
				"basicAuth":  map[string]string{"type": "http", "scheme": "basic"},
			},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"code": map[string]string{"type": "string"}, "message": map[string]string{"type": "string"}}}},
		},
		"security": []any{map[string]any{"bearerAuth": []string{}}, map[string]any{"basicAuth": []string{}}},
	}
}
