package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/manifold-iot/manifold/gateway/api"
	"github.com/manifold-iot/manifold/gateway/config"
)

// ctlClient calls the local node's API with the credential it wrote at start.
type ctlClient struct {
	cred api.CtlCredential
	hc   http.Client
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// call sends a request to Prefix+path with body as JSON and decodes the
// answer into out (when not nil).
func (c *ctlClient) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.cred.URL+api.Prefix+path, rd)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cred.Key, c.cred.Secret)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.hc.Timeout == 0 {
		c.hc.Timeout = 10 * time.Second
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the node's API at %s (is manifold running?): %w", c.cred.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		return e
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// all fetches every page of a paged list.
func all[T any](c *ctlClient, path string) ([]T, error) {
	var out []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for page := 1; ; page++ {
		var p struct {
			Data []T `json:"data"`
			Meta struct {
				HasNext bool `json:"hasnext"`
			} `json:"meta"`
		}
		if err := c.call("GET", fmt.Sprintf("%s%spage=%d&limit=1000", path, sep, page), nil, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Data...)
		if !p.Meta.HasNext {
			return out, nil
		}
	}
}

// loadForClient parses -c for status, stop and ctl and loads the
// configuration (for node.data_dir); nil and the exit code on failure.
func loadForClient(name string, args, environ []string, stderr io.Writer) (*config.Config, int) {
	cfg, _, code := parseClientFlags(name, args, environ, stderr)
	return cfg, code
}

func parseClientFlags(name string, args, environ []string, stderr io.Writer) (*config.Config, []string, int) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "configuration `file` the node was started with (for node.data_dir); default "+defaultConfigFile+" when it exists")
	fs.Usage = func() {
		if name == "ctl" {
			ctlUsage(stderr)
		} else {
			fmt.Fprintf(stderr, "Usage: manifold %s [-c FILE]\n", name)
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, exitOK
		}
		return nil, nil, exitUsage
	}
	if name != "ctl" && fs.NArg() > 0 {
		fmt.Fprintf(stderr, "manifold %s: unexpected argument %q\n", name, fs.Arg(0))
		return nil, nil, exitUsage
	}
	cfg, _, err := config.Load(configPath(*cfgPath), environ)
	if err != nil {
		fmt.Fprintf(stderr, "manifold: %v\n", err)
		return nil, nil, exitUsage
	}
	return cfg, fs.Args(), exitOK
}

func ctlUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: manifold ctl [-c FILE] <command> [args]

Talks to the local node's HTTP API with the credential it wrote at start
(<node.data_dir>/ctl.key). Commands (as emqx ctl):
  status
  clients list | show <clientid> | kick <clientid>
  subscriptions list | show <clientid> | add <clientid> <topic> <qos> | del <clientid> <topic>
  topics list
  retainer list [filter] | clean [topic]
  banned list | add <clientid|username|peerhost> <who> [reason] [until RFC3339] | del <as> <who>
  listeners [start|stop|restart <id>]
  gateways
  admins add <username> <password> [description] | passwd <username> <password> | del <username>
  api-keys list | add <name> [desc] | del <name>
  log set-level <debug|info|warning|error>
`)
}

// runCtl is `manifold ctl`.
func runCtl(args, environ []string, stdout, stderr io.Writer) int {
	cfg, rest, code := parseClientFlags("ctl", args, environ, stderr)
	if cfg == nil {
		return code
	}
	if len(rest) == 0 {
		ctlUsage(stderr)
		return exitUsage
	}
	cred, err := readCredential(cfg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "manifold ctl: the node is not running (no %s); start it with `manifold start -d`\n",
				filepath.Join(cfg.Node.DataDir, api.CtlKeyFile))
		} else {
			fmt.Fprintf(stderr, "manifold ctl: reading the ctl credential: %v\n", err)
		}
		return exitFailed
	}
	c := &ctlClient{cred: cred}
	err = ctlCommand(c, rest, stdout)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "manifold ctl: %v\n\n", err)
		ctlUsage(stderr)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "manifold ctl: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// usageError is a bad ctl command line.
type usageError string

func (e usageError) Error() string { return string(e) }

func want(args []string, n int, form string) error {
	if len(args) < n {
		return usageError("usage: " + form)
	}
	return nil
}

func ctlCommand(c *ctlClient, args []string, w io.Writer) error {
	cmd, sub := args[0], ""
	if len(args) > 1 {
		sub = args[1]
	}
	rest := args[min(2, len(args)):]
	switch cmd {
	case "status":
		st, err := fetchStatus(c.cred)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "Node %s %s is started\nmanifold is running\n", st.NodeName, st.RelVsn)
		return nil
	case "clients":
		return ctlClients(c, sub, rest, w)
	case "subscriptions":
		return ctlSubscriptions(c, sub, rest, w)
	case "topics":
		if sub != "list" {
			return usageError("usage: topics list")
		}
		rs, err := all[struct{ Topic, Node string }](c, "/topics")
		for _, r := range rs {
			fmt.Fprintf(w, "%s -> %s\n", r.Topic, r.Node)
		}
		return err
	case "retainer":
		return ctlRetainer(c, sub, rest, w)
	case "banned":
		return ctlBanned(c, sub, rest, w)
	case "listeners":
		return ctlListeners(c, sub, rest, w)
	case "gateways":
		var gs []struct {
			Name               string `json:"name"`
			Status             string `json:"status"`
			CurrentConnections int    `json:"current_connections"`
		}
		if err := c.call("GET", "/gateways", nil, &gs); err != nil {
			return err
		}
		for _, g := range gs {
			fmt.Fprintf(w, "Gateway(name=%s, status=%s, current_connections=%d)\n", g.Name, g.Status, g.CurrentConnections)
		}
		return nil
	case "admins":
		return ctlAdmins(c, sub, rest, w)
	case "api-keys":
		return ctlKeys(c, sub, rest, w)
	case "log":
		if sub != "set-level" || len(rest) != 1 {
			return usageError("usage: log set-level <debug|info|warning|error>")
		}
		if err := c.call("PUT", "/configs/log", map[string]string{"level": rest[0]}, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, rest[0])
		return nil
	}
	return usageError("unknown command " + strconv.Quote(cmd))
}

type ctlClientRow struct {
	ClientID         string `json:"clientid"`
	Username         string `json:"username"`
	IPAddress        string `json:"ip_address"`
	Port             int    `json:"port"`
	ProtoName        string `json:"proto_name"`
	ProtoVer         int    `json:"proto_ver"`
	CleanStart       bool   `json:"clean_start"`
	Keepalive        int    `json:"keepalive"`
	ExpiryInterval   int    `json:"expiry_interval"`
	SubscriptionsCnt int    `json:"subscriptions_cnt"`
	InflightCnt      int    `json:"inflight_cnt"`
	AwaitingRelCnt   int    `json:"awaiting_rel_cnt"`
	MqueueLen        int    `json:"mqueue_len"`
	MqueueDropped    int    `json:"mqueue_dropped"`
	Connected        bool   `json:"connected"`
	CreatedAt        string `json:"created_at"`
	ConnectedAt      string `json:"connected_at"`
	Listener         string `json:"listener"`
}

func (r ctlClientRow) String() string {
	user := r.Username
	if user == "" {
		user = "undefined"
	}
	return fmt.Sprintf("Client(%s, username=%s, peername=%s:%d, proto=%s/%d, listener=%s, clean_start=%v, keepalive=%d, "+
		"session_expiry_interval=%d, subscriptions=%d, inflight=%d, awaiting_rel=%d, enqueued_msgs=%d, dropped_msgs=%d, "+
		"connected=%v, created_at=%s, connected_at=%s)",
		r.ClientID, user, r.IPAddress, r.Port, r.ProtoName, r.ProtoVer, r.Listener, r.CleanStart, r.Keepalive,
		r.ExpiryInterval, r.SubscriptionsCnt, r.InflightCnt, r.AwaitingRelCnt, r.MqueueLen, r.MqueueDropped,
		r.Connected, r.CreatedAt, r.ConnectedAt)
}

func ctlClients(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "list":
		rows, err := all[ctlClientRow](c, "/clients")
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
		return err
	case "show":
		if err := want(rest, 1, "clients show <clientid>"); err != nil {
			return err
		}
		var r ctlClientRow
		if err := c.call("GET", "/clients/"+url.PathEscape(rest[0]), nil, &r); err != nil {
			return err
		}
		fmt.Fprintln(w, r)
		return nil
	case "kick":
		if err := want(rest, 1, "clients kick <clientid>"); err != nil {
			return err
		}
		if err := c.call("DELETE", "/clients/"+url.PathEscape(rest[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: clients list | show <clientid> | kick <clientid>")
}

type ctlSub struct {
	ClientID string `json:"clientid"`
	Topic    string `json:"topic"`
	QoS      int    `json:"qos"`
	NL       int    `json:"nl"`
	RAP      int    `json:"rap"`
	RH       int    `json:"rh"`
}

func (s ctlSub) String() string {
	return fmt.Sprintf("%s -> topic:%s qos:%d nl:%d rh:%d rap:%d", s.ClientID, s.Topic, s.QoS, s.NL, s.RH, s.RAP)
}

func ctlSubscriptions(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "list":
		subs, err := all[ctlSub](c, "/subscriptions")
		for _, s := range subs {
			fmt.Fprintln(w, s)
		}
		return err
	case "show":
		if err := want(rest, 1, "subscriptions show <clientid>"); err != nil {
			return err
		}
		var subs []ctlSub
		if err := c.call("GET", "/clients/"+url.PathEscape(rest[0])+"/subscriptions", nil, &subs); err != nil {
			return err
		}
		for _, s := range subs {
			fmt.Fprintln(w, s)
		}
		return nil
	case "add":
		if err := want(rest, 3, "subscriptions add <clientid> <topic> <qos>"); err != nil {
			return err
		}
		qos, err := strconv.Atoi(rest[2])
		if err != nil {
			return usageError("qos must be 0, 1 or 2")
		}
		if err := c.call("POST", "/clients/"+url.PathEscape(rest[0])+"/subscribe", map[string]any{"topic": rest[1], "qos": qos}, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	case "del":
		if err := want(rest, 2, "subscriptions del <clientid> <topic>"); err != nil {
			return err
		}
		if err := c.call("POST", "/clients/"+url.PathEscape(rest[0])+"/unsubscribe", map[string]any{"topic": rest[1]}, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: subscriptions list | show <clientid> | add <clientid> <topic> <qos> | del <clientid> <topic>")
}

func ctlRetainer(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "list":
		path := "/retainer/messages"
		if len(rest) > 0 {
			path += "?topic=" + url.QueryEscape(rest[0])
		}
		ms, err := all[struct {
			Topic        string `json:"topic"`
			QoS          int    `json:"qos"`
			FromClientID string `json:"from_clientid"`
			PublishAt    string `json:"publish_at"`
		}](c, path)
		for _, m := range ms {
			fmt.Fprintf(w, "%s qos=%d from=%s at=%s\n", m.Topic, m.QoS, m.FromClientID, m.PublishAt)
		}
		return err
	case "clean":
		path := "/retainer/messages"
		if len(rest) > 0 {
			path = "/retainer/message/" + url.PathEscape(rest[0])
		}
		if err := c.call("DELETE", path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: retainer list [filter] | clean [topic]")
}

func ctlBanned(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "list":
		bans, err := all[struct{ As, Who, By, Reason, At, Until string }](c, "/banned")
		for _, b := range bans {
			fmt.Fprintf(w, "%s %s by=%s reason=%q at=%s until=%s\n", b.As, b.Who, b.By, b.Reason, b.At, b.Until)
		}
		return err
	case "add":
		if err := want(rest, 2, "banned add <clientid|username|peerhost> <who> [reason] [until]"); err != nil {
			return err
		}
		body := map[string]string{"as": rest[0], "who": rest[1], "by": "ctl"}
		if len(rest) > 2 {
			body["reason"] = rest[2]
		}
		if len(rest) > 3 {
			body["until"] = rest[3]
		}
		if err := c.call("POST", "/banned", body, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	case "del":
		if err := want(rest, 2, "banned del <as> <who>"); err != nil {
			return err
		}
		if err := c.call("DELETE", "/banned/"+url.PathEscape(rest[0])+"/"+url.PathEscape(rest[1]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: banned list | add <as> <who> [reason] [until] | del <as> <who>")
}

func ctlListeners(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "":
		var ls []struct {
			ID                 string `json:"id"`
			Bind               string `json:"bind"`
			Addr               string `json:"addr"`
			Running            bool   `json:"running"`
			CurrentConnections int    `json:"current_connections"`
			MaxConnections     any    `json:"max_connections"`
		}
		if err := c.call("GET", "/listeners", nil, &ls); err != nil {
			return err
		}
		for _, l := range ls {
			fmt.Fprintf(w, "%s\n  listen_on       : %s\n  bound_to        : %s\n  running         : %v\n  current_conn    : %d\n  max_conns       : %v\n",
				l.ID, l.Bind, orDash(l.Addr), l.Running, l.CurrentConnections, l.MaxConnections)
		}
		return nil
	case "start", "stop", "restart":
		if err := want(rest, 1, "listeners "+sub+" <id>"); err != nil {
			return err
		}
		if err := c.call("POST", "/listeners/"+url.PathEscape(rest[0])+"/"+sub, nil, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: listeners [start|stop|restart <id>]")
}

func ctlAdmins(c *ctlClient, sub string, rest []string, w io.Writer) error {
	switch sub {
	case "add":
		if err := want(rest, 2, "admins add <username> <password> [description]"); err != nil {
			return err
		}
		body := map[string]string{"username": rest[0], "password": rest[1]}
		if len(rest) > 2 {
			body["description"] = rest[2]
		}
		if err := c.call("POST", "/users", body, nil); err != nil {
			return err
		}
	case "passwd":
		if err := want(rest, 2, "admins passwd <username> <password>"); err != nil {
			return err
		}
		if err := c.call("POST", "/users/"+url.PathEscape(rest[0])+"/change_pwd", map[string]string{"new_pwd": rest[1]}, nil); err != nil {
			return err
		}
	case "del":
		if err := want(rest, 1, "admins del <username>"); err != nil {
			return err
		}
		if err := c.call("DELETE", "/users/"+url.PathEscape(rest[0]), nil, nil); err != nil {
			return err
		}
	default:
		return usageError("usage: admins add <username> <password> [description] | passwd <username> <password> | del <username>")
	}
	fmt.Fprintln(w, "ok")
	return nil
}

func ctlKeys(c *ctlClient, sub string, rest []string, w io.Writer) error {
	type key struct {
		Name      string `json:"name"`
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
		Enable    bool   `json:"enable"`
		ExpiredAt string `json:"expired_at"`
		Desc      string `json:"desc"`
	}
	switch sub {
	case "list":
		var ks []key
		if err := c.call("GET", "/api_key", nil, &ks); err != nil {
			return err
		}
		for _, k := range ks {
			fmt.Fprintf(w, "%s api_key=%s enable=%v expired_at=%s desc=%q\n", k.Name, k.APIKey, k.Enable, k.ExpiredAt, k.Desc)
		}
		return nil
	case "add":
		if err := want(rest, 1, "api-keys add <name> [desc]"); err != nil {
			return err
		}
		body := map[string]string{"name": rest[0]}
		if len(rest) > 1 {
			body["desc"] = rest[1]
		}
		var k key
		if err := c.call("POST", "/api_key", body, &k); err != nil {
			return err
		}
		fmt.Fprintf(w, "api_key: %s\napi_secret: %s\n(the secret is shown only now)\n", k.APIKey, k.APISecret)
		return nil
	case "del":
		if err := want(rest, 1, "api-keys del <name>"); err != nil {
			return err
		}
		if err := c.call("DELETE", "/api_key/"+url.PathEscape(rest[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintln(w, "ok")
		return nil
	}
	return usageError("usage: api-keys list | add <name> [desc] | del <name>")
}
