package api

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Password rules for new passwords.
const (
	minPasswordLen = 8
	maxPasswordLen = 64
)

func (a *API) registerAuth() {
	a.handle("POST", Prefix+"/login", "auth", "Log in: username and password for a bearer token", true, a.login)
	a.handle("POST", Prefix+"/logout", "auth", "Log out: revoke the request's token", false, a.logout)
	a.handle("GET", Prefix+"/users", "auth", "List dashboard users", false, a.listUsers)
	a.handle("POST", Prefix+"/users", "auth", "Create a dashboard user", false, a.createUser)
	a.handle("PUT", Prefix+"/users/{username}", "auth", "Update a user's description", false, a.updateUser)
	a.handle("DELETE", Prefix+"/users/{username}", "auth", "Delete a dashboard user", false, a.deleteUser)
	a.handle("POST", Prefix+"/users/{username}/change_pwd", "auth", "Change a user's password", false, a.changePassword)
	a.handle("GET", Prefix+"/api_key", "auth", "List API keys", false, a.listKeys)
	a.handle("POST", Prefix+"/api_key", "auth", "Create an API key (the secret is shown once)", false, a.createKey)
	a.handle("GET", Prefix+"/api_key/{name}", "auth", "Get an API key", false, a.getKey)
	a.handle("PUT", Prefix+"/api_key/{name}", "auth", "Enable, disable or describe an API key", false, a.updateKey)
	a.handle("DELETE", Prefix+"/api_key/{name}", "auth", "Delete an API key", false, a.deleteKey)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	t, mustChange, err := a.auth.login(req.Username, req.Password, clientAddr(r))
	if err == errLocked {
		a.log.Warn().Str("username", req.Username).Str("peer", clientAddr(r)).Msg("api_login_locked")
		writeError(w, http.StatusTooManyRequests, "LOGIN_LOCKED", err.Error())
		return
	}
	if t == "" {
		a.log.Info().Str("username", req.Username).Str("peer", clientAddr(r)).Msg("api_login_failed")
		writeError(w, http.StatusUnauthorized, "BAD_USERNAME_OR_PWD", "bad username or password")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": t, "must_change_password": mustChange, "version": a.node.Version(),
		"license": map[string]string{"edition": "opensource"}, "role": "administrator",
	})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if p := principalOf(r); p.username != "" {
		t := strings.TrimSpace(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		a.auth.mu.Lock()
		delete(a.auth.tokens, t)
		a.auth.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

type userJSON struct {
	Username    string `json:"username"`
	Description string `json:"description"`
	Role        string `json:"role"`
}

func (a *API) listUsers(w http.ResponseWriter, _ *http.Request) {
	a.auth.mu.Lock()
	out := make([]userJSON, 0, len(a.auth.users))
	for _, u := range a.auth.users {
		out = append(out, userJSON{u.Username, u.Description, "administrator"})
	}
	a.auth.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Username < out[j].Username })
	writeJSON(w, http.StatusOK, out)
}

func validPassword(pw string) bool { return len(pw) >= minPasswordLen && len(pw) <= maxPasswordLen }

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		Description string `json:"description"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Username == "" || len(req.Username) > 100 {
		badRequest(w, "username must be 1 to 100 characters")
		return
	}
	if !validPassword(req.Password) {
		badRequest(w, "password must be %d to %d characters", minPasswordLen, maxPasswordLen)
		return
	}
	h := a.auth.hashPassword(req.Password)
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	if a.auth.users[req.Username] != nil {
		writeError(w, http.StatusConflict, "USER_EXISTS", "user "+req.Username+" already exists")
		return
	}
	a.auth.users[req.Username] = &user{Username: req.Username, Hash: h, Description: req.Description, CreatedAt: time.Now()}
	if err := a.auth.save(); err != nil {
		delete(a.auth.users, req.Username)
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("username", req.Username).Msg("api_user_created")
	writeJSON(w, http.StatusOK, userJSON{req.Username, req.Description, "administrator"})
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Description string `json:"description"`
	}
	if !decode(w, r, &req) {
		return
	}
	name := r.PathValue("username")
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	u := a.auth.users[name]
	if u == nil {
		notFound(w, "USER_NOT_FOUND", "no user %s", name)
		return
	}
	u.Description = req.Description
	if err := a.auth.save(); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, userJSON{u.Username, u.Description, "administrator"})
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	if principalOf(r).username == name {
		badRequest(w, "a user cannot delete itself")
		return
	}
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	u := a.auth.users[name]
	if u == nil {
		notFound(w, "USER_NOT_FOUND", "no user %s", name)
		return
	}
	if len(a.auth.users) == 1 {
		badRequest(w, "cannot delete the last user")
		return
	}
	delete(a.auth.users, name)
	for t, tk := range a.auth.tokens {
		if tk.username == name {
			delete(a.auth.tokens, t)
		}
	}
	if err := a.auth.save(); err != nil {
		a.auth.users[name] = u
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("username", name).Msg("api_user_deleted")
	w.WriteHeader(http.StatusNoContent)
}

// changePassword needs old_pwd when a user changes its own password; an API
// key (an operator's script, `manifold ctl admins passwd`) may reset any.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OldPwd string `json:"old_pwd"`
		NewPwd string `json:"new_pwd"`
	}
	if !decode(w, r, &req) {
		return
	}
	name := r.PathValue("username")
	p := principalOf(r)
	if p.username != "" && p.username != name {
		writeError(w, http.StatusForbidden, "FORBIDDEN", "a user may change only its own password")
		return
	}
	if !validPassword(req.NewPwd) {
		badRequest(w, "new_pwd must be %d to %d characters", minPasswordLen, maxPasswordLen)
		return
	}
	a.auth.mu.Lock()
	u := a.auth.users[name]
	var hash string
	if u != nil {
		hash = u.Hash
	}
	a.auth.mu.Unlock()
	if u == nil {
		notFound(w, "USER_NOT_FOUND", "no user %s", name)
		return
	}
	if p.username != "" && !a.auth.checkPassword(hash, req.OldPwd) {
		badRequest(w, "old_pwd is wrong")
		return
	}
	if req.NewPwd == req.OldPwd || a.auth.checkPassword(hash, req.NewPwd) {
		badRequest(w, "new_pwd must differ from the old password")
		return
	}
	h := a.auth.hashPassword(req.NewPwd)
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	u.Hash, u.MustChange = h, false
	if err := a.auth.save(); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("username", name).Msg("api_password_changed")
	w.WriteHeader(http.StatusNoContent)
}

type keyJSON struct {
	Name      string `json:"name"`
	APIKey    string `json:"api_key"`
	APISecret string `json:"api_secret,omitempty"`
	ExpiredAt string `json:"expired_at"` // "infinity" or RFC 3339
	CreatedAt string `json:"created_at"`
	Desc      string `json:"desc"`
	Enable    bool   `json:"enable"`
}

func keyView(k *apiKey) keyJSON {
	exp := "infinity"
	if !k.ExpiredAt.IsZero() {
		exp = rfc3339(k.ExpiredAt)
	}
	return keyJSON{Name: k.Name, APIKey: k.Key, ExpiredAt: exp, CreatedAt: rfc3339(k.CreatedAt), Desc: k.Desc, Enable: k.Enable}
}

// keyByName finds a key by name; caller holds mu.
func (s *authStore) keyByName(name string) *apiKey {
	for _, k := range s.keys {
		if k.Name == name {
			return k
		}
	}
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, _ *http.Request) {
	a.auth.mu.Lock()
	out := make([]keyJSON, 0, len(a.auth.keys))
	for _, k := range a.auth.keys {
		out = append(out, keyView(k))
	}
	a.auth.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// keyRequest is the body of POST and PUT /api_key.
type keyRequest struct {
	Name      string  `json:"name"`
	ExpiredAt *string `json:"expired_at"` // RFC 3339 or "infinity"
	Desc      *string `json:"desc"`
	Enable    *bool   `json:"enable"`
}

func (k *keyRequest) apply(w http.ResponseWriter, to *apiKey) bool {
	if k.ExpiredAt != nil {
		if *k.ExpiredAt == "infinity" || *k.ExpiredAt == "" {
			to.ExpiredAt = time.Time{}
		} else {
			t, err := time.Parse(time.RFC3339, *k.ExpiredAt)
			if err != nil {
				badRequest(w, "expired_at must be RFC 3339 or \"infinity\"")
				return false
			}
			to.ExpiredAt = t
		}
	}
	if k.Desc != nil {
		to.Desc = *k.Desc
	}
	if k.Enable != nil {
		to.Enable = *k.Enable
	}
	return true
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var req keyRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || len(req.Name) > 200 {
		badRequest(w, "name must be 1 to 200 characters")
		return
	}
	k := &apiKey{Name: req.Name, Key: newSecret(8), Enable: true, CreatedAt: time.Now()}
	if !req.apply(w, k) {
		return
	}
	secret := newSecret(32)
	k.Secret = hashSecret(secret)
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	if a.auth.keyByName(req.Name) != nil {
		writeError(w, http.StatusConflict, "API_KEY_EXISTS", "an API key named "+req.Name+" exists")
		return
	}
	a.auth.keys[k.Key] = k
	if err := a.auth.save(); err != nil {
		delete(a.auth.keys, k.Key)
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("name", k.Name).Str("api_key", k.Key).Msg("api_key_created")
	v := keyView(k)
	v.APISecret = secret
	writeJSON(w, http.StatusOK, v)
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request) {
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	k := a.auth.keyByName(r.PathValue("name"))
	if k == nil {
		notFound(w, "API_KEY_NOT_FOUND", "no API key named %s", r.PathValue("name"))
		return
	}
	writeJSON(w, http.StatusOK, keyView(k))
}

func (a *API) updateKey(w http.ResponseWriter, r *http.Request) {
	var req keyRequest
	if !decode(w, r, &req) {
		return
	}
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	k := a.auth.keyByName(r.PathValue("name"))
	if k == nil {
		notFound(w, "API_KEY_NOT_FOUND", "no API key named %s", r.PathValue("name"))
		return
	}
	old := *k
	if !req.apply(w, k) {
		*k = old
		return
	}
	if err := a.auth.save(); err != nil {
		*k = old
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, keyView(k))
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request) {
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	k := a.auth.keyByName(r.PathValue("name"))
	if k == nil {
		notFound(w, "API_KEY_NOT_FOUND", "no API key named %s", r.PathValue("name"))
		return
	}
	delete(a.auth.keys, k.Key)
	if err := a.auth.save(); err != nil {
		a.auth.keys[k.Key] = k
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", err.Error())
		return
	}
	a.log.Info().Str("name", k.Name).Msg("api_key_deleted")
	w.WriteHeader(http.StatusNoContent)
}
