package config

import (
	"encoding"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Validate checks c: every value in its allowed form and range, and the
// rules that tie keys together (unique listen addresses, certificates of
// enabled TLS listeners present, one source per authorization type, …).
// Each problem is an *Error naming the full key path; all are returned
// joined. Relative paths are resolved against c.Dir. Load calls it.
func (c *Config) Validate() error { return joinErrors(c.validate()) }

// validator collects Validate's errors.
type validator struct{ errs []*Error }

func (v *validator) add(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid})
}

func (c *Config) validate() []*Error {
	var v validator
	v.values("", reflect.ValueOf(c).Elem(), fieldTags{})

	if name, host, ok := strings.Cut(c.Node.Name, "@"); !ok || name == "" || host == "" || strings.ContainsAny(c.Node.Name, " \t/") || strings.Count(c.Node.Name, "@") != 1 {
		v.add("node.name", "expected name@host such as \"manifold@127.0.0.1\", got %q", c.Node.Name)
	}
	if c.Node.DataDir == "" {
		v.add("node.data_dir", "expected a directory, got \"\"")
	}

	for _, name := range sortedKeys(c.Listeners.SSL) {
		if l := c.Listeners.SSL[name]; l != nil && l.Enable {
			c.checkTLS(&v, "listeners.ssl."+name+".ssl_options", &l.SSLOptions)
		}
	}
	for _, name := range sortedKeys(c.Listeners.WSS) {
		if l := c.Listeners.WSS[name]; l != nil && l.Enable {
			c.checkTLS(&v, "listeners.wss."+name+".ssl_options", &l.SSLOptions)
		}
	}
	for _, name := range sortedKeys(c.Listeners.WS) {
		if l := c.Listeners.WS[name]; l != nil {
			checkWebSocket(&v, "listeners.ws."+name+".websocket", &l.WebSocket)
		}
	}
	for _, name := range sortedKeys(c.Listeners.WSS) {
		if l := c.Listeners.WSS[name]; l != nil {
			checkWebSocket(&v, "listeners.wss."+name+".websocket", &l.WebSocket)
		}
	}
	checkBinds(&v, c.EnabledListeners())

	firstOfType := map[string]int{}
	for i, s := range c.Authorization.Sources {
		key := "authorization.sources." + strconv.Itoa(i+1)
		if first, ok := firstOfType[s.Type]; ok && s.Type != "" {
			v.add(key+".type", "a source of type %s is already at authorization.sources.%d; each type may appear once", s.Type, first)
		} else {
			firstOfType[s.Type] = i + 1
		}
		switch {
		case s.Type == "file" && s.Path == "":
			v.add(key+".path", "expected the path of an ACL file, got \"\"")
		case s.Type != "file" && s.Path != "":
			v.add(key+".path", "only a source of type file has a path")
		}
	}

	if o := c.Sysmon.OS; o.CPULowWatermark > o.CPUHighWatermark {
		v.add("sysmon.os.cpu_low_watermark", "%s is above sysmon.os.cpu_high_watermark %s", o.CPULowWatermark, o.CPUHighWatermark)
	}
	if cn := c.Sysmon.Connections; cn.LowWatermark > cn.HighWatermark {
		v.add("sysmon.connections.low_watermark", "%s is above sysmon.connections.high_watermark %s", cn.LowWatermark, cn.HighWatermark)
	}
	if c.Dashboard.DefaultUsername == "" {
		v.add("dashboard.default_username", "expected a user name, got \"\"")
	}
	if c.Dashboard.DefaultPassword == "" {
		v.add("dashboard.default_password", "expected a password, got \"\"")
	}
	for _, name := range sortedKeys(c.Gateway.Other) {
		if name == "" || strings.Contains(name, ".") {
			v.add("gateway."+name, "invalid gateway name %q", name)
		}
	}
	return v.errs
}

// values checks every scalar under rv against its tags, and that values of
// this package's text types are well-formed (a hand-built Address "" or a
// negative Duration fails here).
func (v *validator) values(path string, rv reflect.Value, tg fieldTags) {
	t := rv.Type()
	switch {
	case t == sectionType:
	case isScalarType(t):
		if !tagsAllow(rv, tg) || !roundTrips(rv) {
			v.add(path, "%s", expectedGot(formOf(t, tg), display(rv)))
		}
	case t.Kind() == reflect.Pointer:
		if !rv.IsNil() {
			v.values(path, rv.Elem(), tg)
		}
	case t.Kind() == reflect.Struct:
		si := structInfoOf(t)
		for _, name := range si.names {
			f := si.fields[name]
			v.values(join(path, name), rv.FieldByIndex(f.index), f.tags)
		}
	case t.Kind() == reflect.Map:
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			v.values(join(path, k.String()), rv.MapIndex(k), elemTags(tg))
		}
	case t.Kind() == reflect.Slice:
		for i := 0; i < rv.Len(); i++ {
			v.values(join(path, strconv.Itoa(i+1)), rv.Index(i), elemTags(tg))
		}
	}
}

// roundTrips reports whether a value of a formed text type reads back from
// its own text; other values always pass. The zero value of a type with a
// word (an unset ByteSize, for instance) is handled by tagsAllow.
func roundTrips(rv reflect.Value) bool {
	if !rv.Type().Implements(formedType) || !rv.Type().Implements(textMarshalerType) {
		return true
	}
	b, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return false
	}
	p := reflect.New(rv.Type())
	return p.Interface().(encoding.TextUnmarshaler).UnmarshalText(b) == nil
}

// checkTLS checks the options of an enabled ssl or wss listener.
func (c *Config) checkTLS(v *validator, key string, o *SSLOptions) {
	c.checkFile(v, key+".certfile", o.Certfile, "the PEM certificate")
	c.checkFile(v, key+".keyfile", o.Keyfile, "the PEM private key")
	if o.Verify == "verify_peer" {
		c.checkFile(v, key+".cacertfile", o.Cacertfile, "the PEM CA certificates that client certificates are checked against")
	}
	if len(o.Versions) == 0 {
		v.add(key+".versions", "expected at least one of tlsv1.3|tlsv1.2|tlsv1.1|tlsv1")
	}
}

// checkFile checks that the file a key names exists (after resolution).
func (c *Config) checkFile(v *validator, key, p, what string) {
	if p == "" {
		v.add(key, "expected the path of %s, got \"\"", what)
		return
	}
	full := c.ResolvePath(p)
	st, err := os.Stat(full)
	switch {
	case err != nil && os.IsNotExist(err):
		v.add(key, "file %s does not exist (scripts/gen-certs.sh makes test certificates)", full)
	case err != nil:
		v.add(key, "%v", err)
	case st.IsDir():
		v.add(key, "%s is a directory, expected a file", full)
	}
}

// checkWebSocket checks a ws or wss listener's websocket options.
func checkWebSocket(v *validator, key string, o *WebSocketOptions) {
	if !strings.HasPrefix(o.MQTTPath, "/") {
		v.add(key+".mqtt_path", "expected a path starting with /, got %q", o.MQTTPath)
	}
	if len(o.SupportedSubprotocols) == 0 && o.FailIfNoSubprotocol {
		v.add(key+".supported_subprotocols", "expected at least one subprotocol when fail_if_no_subprotocol is true")
	}
	for _, p := range o.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			v.add(key+".trusted_proxies", "expected CIDR networks like 10.0.0.0/8, got %q", p)
		}
	}
}

// checkBinds rejects enabled listeners that would listen on the same port of
// the same (or a wildcard) address. Port 0 never conflicts.
func checkBinds(v *validator, refs []ListenerRef) {
	for j, b := range refs {
		for _, a := range refs[:j] {
			if bindsOverlap(a.Bind, b.Bind) {
				v.add(b.Key()+".bind", "%s is already used by %s (%s)", b.Bind, a.Key(), a.Bind)
				break
			}
		}
	}
}

// bindsOverlap reports whether two listen addresses would collide.
func bindsOverlap(a, b Address) bool {
	pa, pb := a.Port(), b.Port()
	if pa <= 0 || pa != pb {
		return false
	}
	ha, hb := hostOf(a), hostOf(b)
	return ha == hb || isWildcard(ha) || isWildcard(hb)
}

func hostOf(a Address) string {
	s := string(a)
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return strings.Trim(s, "[]")
}

func isWildcard(host string) bool {
	ip, err := netip.ParseAddr(host)
	return host == "" || err == nil && ip.IsUnspecified()
}

// sortedKeys returns a map's keys in order, for deterministic messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
