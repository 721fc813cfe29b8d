package api

import (
	"bufio"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Password hashing: PBKDF2-SHA256 (stdlib crypto/pbkdf2), stored as
// "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
const (
	defaultIterations = 600000
	saltLen           = 16
	hashLen           = 32
)

// Login rate limit: maxFailures failed logins of one username from one
// address within failWindow lock that pair out until the window ends.
const (
	maxFailures  = 5
	failWindow   = 5 * time.Minute
	maxTracked   = 10000 // bound on tracked username+address pairs
	maxTokens    = 10000 // bound on live tokens
	ctlKeyName   = "manifold_ctl"
	authFileName = "auth.json"
)

// CtlKeyFile is the name of the ctl credential under node.data_dir.
const CtlKeyFile = "ctl.key"

// user is one dashboard user as stored.
type user struct {
	Username    string    `json:"username"`
	Hash        string    `json:"password_hash"`
	Description string    `json:"description"`
	MustChange  bool      `json:"must_change_password"`
	CreatedAt   time.Time `json:"created_at"`
}

// apiKey is one API key as stored; Secret is hex SHA-256 of the secret.
type apiKey struct {
	Name      string    `json:"name"`
	Key       string    `json:"api_key"`
	Secret    string    `json:"secret_hash"`
	Desc      string    `json:"desc"`
	Enable    bool      `json:"enable"`
	ExpiredAt time.Time `json:"expired_at"` // zero: never
	CreatedAt time.Time `json:"created_at"`
	transient bool      // bootstrap and ctl keys: never written to the file
}

type authFile struct {
	Users   []*user   `json:"users"`
	APIKeys []*apiKey `json:"api_keys"`
}

type token struct {
	username string
	expires  time.Time
}

type failures struct {
	n     int
	first time.Time
}

// authStore holds users, API keys, live tokens and failed-login counts.
type authStore struct {
	path  string
	iters int
	ttl   time.Duration

	mu     sync.Mutex
	users  map[string]*user     // guarded by mu
	keys   map[string]*apiKey   // guarded by mu; by key
	tokens map[string]token     // guarded by mu
	fails  map[string]*failures // guarded by mu; by username + "\x00" + address

	ctlKey, ctlSecret string

	// checking bounds the password hashes computed at once (PBKDF2 is
	// deliberately slow): a flood of logins queues instead of taking every core.
	checking chan struct{}
}

// maxConcurrentChecks is checking's capacity.
const maxConcurrentChecks = 2

// checkPassword runs the slow hash comparison under the concurrency bound.
func (s *authStore) checkPassword(stored, pw string) bool {
	s.checking <- struct{}{}
	defer func() { <-s.checking }()
	return checkPassword(stored, pw)
}

func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

func (s *authStore) hashPassword(pw string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	h, _ := pbkdf2.Key(sha256.New, pw, salt, s.iters, hashLen)
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", s.iters, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h))
}

func checkPassword(stored, pw string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iters, err := strconv.Atoi(parts[1])
	if err != nil || iters < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iters, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// openAuth loads DataDir/api/auth.json, creating it with the default
// administrator on first start, then adds the bootstrap and ctl keys.
func openAuth(o Options) (*authStore, error) {
	s := &authStore{
		path:   filepath.Join(o.DataDir, "api", authFileName),
		iters:  o.HashIterations,
		ttl:    o.TokenTTL,
		users:  map[string]*user{},
		keys:   map[string]*apiKey{},
		tokens: map[string]token{},
		fails:  map[string]*failures{},

		checking: make(chan struct{}, maxConcurrentChecks),
	}
	data, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		u := &user{Username: o.DefaultUsername, Hash: s.hashPassword(o.DefaultPassword), Description: "administrator",
			MustChange: o.DefaultPassword == "public", CreatedAt: time.Now()}
		s.users[u.Username] = u
		if err := s.save(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("api: reading %s: %w", s.path, err)
	default:
		var f authFile
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("api: %s is corrupt: %w", s.path, err)
		}
		for _, u := range f.Users {
			s.users[u.Username] = u
		}
		for _, k := range f.APIKeys {
			s.keys[k.Key] = k
		}
	}
	if o.BootstrapFile != "" {
		if err := s.loadBootstrap(o.BootstrapFile); err != nil {
			return nil, err
		}
	}
	s.ctlKey, s.ctlSecret = "ctl-"+newSecret(8), newSecret(32)
	s.keys[s.ctlKey] = &apiKey{Name: ctlKeyName, Key: s.ctlKey, Secret: hashSecret(s.ctlSecret), Enable: true,
		Desc: "manifold ctl (created at start)", CreatedAt: time.Now(), transient: true}
	return s, nil
}

// loadBootstrap reads "key:secret" lines (EMQX's api_key.bootstrap_file);
// blank lines and lines starting with # are skipped.
func (s *authStore) loadBootstrap(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("api_key.bootstrap_file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("api_key.bootstrap_file: %s:%d: want key:secret", path, n)
		}
		s.keys[parts[0]] = &apiKey{Name: "bootstrap_" + parts[0], Key: parts[0], Secret: hashSecret(parts[1]),
			Enable: true, Desc: "from api_key.bootstrap_file", CreatedAt: time.Now(), transient: true}
	}
	return sc.Err()
}

// save writes the users and persistent keys atomically, mode 0600; caller
// holds mu (or owns s exclusively).
func (s *authStore) save() error {
	var f authFile
	for _, u := range s.users {
		f.Users = append(f.Users, u)
	}
	for _, k := range s.keys {
		if !k.transient {
			f.APIKeys = append(f.APIKeys, k)
		}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	return nil
}

// errLocked is login's answer while a username+address pair is locked out.
var errLocked = errors.New("too many failed logins; try again later")

// login checks a password and returns a new token; errLocked while the
// pair is rate-limited.
func (s *authStore) login(username, password, addr string) (string, bool, error) {
	now := time.Now()
	fk := username + "\x00" + addr
	s.mu.Lock()
	if f := s.fails[fk]; f != nil && now.Sub(f.first) < failWindow && f.n >= maxFailures {
		s.mu.Unlock()
		return "", false, errLocked
	}
	u := s.users[username]
	var hash string
	if u != nil {
		hash = u.Hash
	}
	s.mu.Unlock()

	ok := u != nil && s.checkPassword(hash, password) // slow: outside the lock

	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok {
		f := s.fails[fk]
		if f == nil || now.Sub(f.first) >= failWindow {
			if len(s.fails) >= maxTracked {
				s.pruneFails(now)
			}
			f = &failures{first: now}
			s.fails[fk] = f
		}
		f.n++
		return "", false, nil
	}
	delete(s.fails, fk)
	if len(s.tokens) >= maxTokens {
		s.pruneTokens(now)
	}
	t := newSecret(32)
	s.tokens[t] = token{username: username, expires: now.Add(s.ttl)}
	return t, u.MustChange, nil
}

// pruneFails drops expired counts, or all of them if none expired; caller holds mu.
func (s *authStore) pruneFails(now time.Time) {
	for k, f := range s.fails {
		if now.Sub(f.first) >= failWindow {
			delete(s.fails, k)
		}
	}
	if len(s.fails) >= maxTracked {
		clear(s.fails)
	}
}

// pruneTokens drops expired tokens, then the oldest if still full; caller holds mu.
func (s *authStore) pruneTokens(now time.Time) {
	var oldest string
	var at time.Time
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		} else if oldest == "" || t.expires.Before(at) {
			oldest, at = k, t.expires
		}
	}
	if len(s.tokens) >= maxTokens {
		delete(s.tokens, oldest)
	}
}

// principal is who a request is authenticated as.
type principal struct {
	username   string // a dashboard user; "" for an API key
	apiKey     string
	mustChange bool
}

type ctxKey struct{}

// authenticate checks the bearer token or API key of a request.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, code, msg := a.auth.check(r)
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="manifold", Bearer`)
			writeError(w, http.StatusUnauthorized, code, msg)
			return
		}
		if p.mustChange && !(r.Method == "POST" && (r.URL.Path == Prefix+"/users/"+p.username+"/change_pwd" || r.URL.Path == Prefix+"/logout")) {
			writeError(w, http.StatusForbidden, "PASSWORD_CHANGE_REQUIRED",
				"the default password must be changed first: POST "+Prefix+"/users/"+p.username+"/change_pwd")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

func (s *authStore) check(r *http.Request) (*principal, string, string) {
	h := r.Header.Get("Authorization")
	now := time.Now()
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		t = strings.TrimSpace(t)
		s.mu.Lock()
		defer s.mu.Unlock()
		tk, found := s.tokens[t]
		if !found {
			return nil, "BAD_TOKEN", "invalid token"
		}
		if now.After(tk.expires) {
			delete(s.tokens, t)
			return nil, "TOKEN_TIME_OUT", "token expired, log in again"
		}
		u := s.users[tk.username]
		if u == nil {
			return nil, "BAD_TOKEN", "invalid token"
		}
		return &principal{username: u.Username, mustChange: u.MustChange}, "", ""
	}
	key, secret, ok := r.BasicAuth()
	if !ok {
		return nil, "UNAUTHORIZED", "authentication required: a bearer token (POST " + Prefix + "/login) or an API key (basic auth)"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil || subtle.ConstantTimeCompare([]byte(k.Secret), []byte(hashSecret(secret))) != 1 {
		return nil, "BAD_API_KEY_OR_SECRET", "bad API key or secret"
	}
	if !k.Enable || (!k.ExpiredAt.IsZero() && now.After(k.ExpiredAt)) {
		return nil, "API_KEY_NOT_ALLOW", "API key disabled or expired"
	}
	return &principal{apiKey: key}, "", ""
}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(ctxKey{}).(*principal)
	return p
}

// clientAddr is the request's peer address without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// CtlCredential is what `manifold ctl` reads from <data_dir>/ctl.key.
type CtlCredential struct {
	URL    string `json:"url"`
	Key    string `json:"api_key"`
	Secret string `json:"api_secret"`
	PID    int    `json:"pid"`
}

// writeCtlFile writes the ctl credential for a server listening on addr.
func (a *API) writeCtlFile(addr net.Addr) error {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	c := CtlCredential{URL: "http://" + net.JoinHostPort(host, port), Key: a.auth.ctlKey, Secret: a.auth.ctlSecret, PID: os.Getpid()}
	data, _ := json.Marshal(c)
	if err := os.MkdirAll(a.opts.DataDir, 0o755); err != nil {
		return err
	}
	p := filepath.Join(a.opts.DataDir, CtlKeyFile)
	_ = os.Remove(p) // a file left by another user's node keeps its mode otherwise
	return os.WriteFile(p, data, 0o600)
}

// removeCtlFile removes the ctl credential when the API stops.
func (a *API) removeCtlFile() {
	_ = os.Remove(filepath.Join(a.opts.DataDir, CtlKeyFile))
}
