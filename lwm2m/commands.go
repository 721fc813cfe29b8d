package lwm2m

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"

	"github.com/manifold-iot/manifold/adapters/coapnet"
	codec "github.com/manifold-iot/manifold/codec/lwm2m"
	"github.com/manifold-iot/manifold/core/session"
)

// Command types on the dn topic (PROTOCOLS.md "LwM2M", EMQX 5's msgType).
const (
	cmdRead          = "read"
	cmdDiscover      = "discover"
	cmdWrite         = "write"
	cmdWriteAttr     = "write-attr"
	cmdExecute       = "execute"
	cmdCreate        = "create"
	cmdDelete        = "delete"
	cmdObserve       = "observe"
	cmdCancelObserve = "cancel-observe"
	msgNotify        = "notify"
)

// CoAP codes the gateway answers a command with itself, in the "code" of
// its response (RFC 7252 §12.1.2).
const (
	codeBadRequest  = 0x80 // 4.00: the command is malformed
	codeUnavailable = 0xa3 // 5.03: the endpoint's command queue is full
	codeBadGateway  = 0xa2 // 5.02: the device's answer could not be decoded
	codeTimeout     = 0xa4 // 5.04: the device did not answer in request_timeout
)

// command is one MQTT command: its msgType, its data, and every other
// top-level key, echoed in the response.
type command struct {
	msgType string
	data    json.RawMessage
	extra   map[string]json.RawMessage
}

// parseCommand decodes a command payload. A payload that is not a JSON
// object still yields a command (msgType "") so that it can be answered.
func parseCommand(payload []byte) (*command, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return &command{}, fmt.Errorf("lwm2m: command is not a JSON object: %w", err)
	}
	c := &command{extra: m}
	if raw, ok := m["msgType"]; ok {
		if err := json.Unmarshal(raw, &c.msgType); err != nil {
			return c, fmt.Errorf("lwm2m: msgType is not a string: %w", err)
		}
	}
	c.data = m["data"]
	delete(m, "msgType")
	delete(m, "data")
	return c, nil
}

// commandData is the "data" of every command but write and create.
type commandData struct {
	Path string          `json:"path"`
	Args json.RawMessage `json:"args"`
}

// observation is one observe the gateway holds on a device
// (RFC 7641 §3.1), keyed by its token.
type observation struct {
	e       *endpoint
	path    codec.Path
	token   []byte
	extra   map[string]json.RawMessage // the observe command's keys, echoed in notifications
	started chan struct{}              // closed once the first response was handled
}

// uplink formats an uplink message: the echoed keys (sorted), msgType,
// seqNum for a notification, and data.
func uplink(extra map[string]json.RawMessage, msgType string, seq int64, data any) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(extra[k])
		b.WriteByte(',')
	}
	b.WriteString(`"msgType":`)
	mt, _ := json.Marshal(msgType)
	b.Write(mt)
	if seq >= 0 {
		fmt.Fprintf(&b, `,"seqNum":%d`, seq)
	}
	d, err := json.Marshal(data)
	if err != nil {
		d = []byte(`null`)
	}
	b.WriteString(`,"data":`)
	b.Write(d)
	b.WriteByte('}')
	return b.Bytes()
}

// errorData is the data of a response the gateway makes itself.
func errorData(reqPath string, code uint8) codec.Response {
	c, msg := codec.CodeText(code)
	return codec.Response{ReqPath: reqPath, Code: c, CodeMsg: msg}
}

// run is the endpoint's worker: it takes commands from the core session
// and sends them to the device one at a time, in order, each waiting for
// the device's answer. A queue-mode device gets them only while awake.
func (e *endpoint) run(ready <-chan struct{}) {
	defer e.s.wg.Done()
	t := time.NewTimer(time.Second)
	select {
	case <-ready:
	case <-t.C:
	case <-e.done:
		t.Stop()
		return
	}
	t.Stop()
	var ds []session.Delivery
	for {
		for {
			// Take between commands too, so that the session's queue
			// drains into ours (whose bound answers 5.03) while a slow
			// device holds the worker.
			ds = e.takeCommands(ds)
			c := e.next()
			if c == nil {
				break
			}
			e.exec(c)
		}
		// Nothing to send now: wait for a command, or for a queue-mode
		// device to wake (seen signals wake).
		select {
		case <-e.done:
			return
		case <-e.s.stop:
			return
		case <-e.wake:
		}
	}
}

// takeCommands moves the MQTT commands queued in the core session into the
// endpoint's bounded command queue.
func (e *endpoint) takeCommands(buf []session.Delivery) []session.Delivery {
	e.mu.Lock()
	sess, closed := e.sess, e.closed
	e.mu.Unlock()
	if sess == nil || closed {
		return buf
	}
	for {
		var more bool
		buf, more = sess.Take(buf[:0], time.Now(), 64)
		for i := range buf {
			d := &buf[i]
			// The command is the gateway's now: settle it at once.
			sess.Settle(d)
			if !d.Release && d.Msg != nil {
				e.enqueue(d.Msg.Payload)
			}
			buf[i] = session.Delivery{}
		}
		if !more {
			return buf
		}
	}
}

// enqueue parses one command and queues it; a malformed command or a full
// queue is answered at once.
func (e *endpoint) enqueue(payload []byte) {
	c, err := parseCommand(payload)
	if err != nil {
		e.s.log.Info().Err(err).Str("endpoint", e.name).Msg("lwm2m_bad_command")
		e.respond(c, errorData("", codeBadRequest))
		return
	}
	e.mu.Lock()
	full := len(e.cmds) >= e.s.cfg.MaxQueuedCommands
	if !full {
		e.cmds = append(e.cmds, c)
	}
	e.mu.Unlock()
	if full {
		e.s.log.Info().Str("endpoint", e.name).Int("max_queued_commands", e.s.cfg.MaxQueuedCommands).Msg("lwm2m_command_queue_full")
		e.respond(c, errorData(c.path(), codeUnavailable))
	}
}

// path is the command's request path as given, for error responses.
func (c *command) path() string {
	var d struct {
		Path     string `json:"path"`
		BasePath string `json:"basePath"`
	}
	_ = json.Unmarshal(c.data, &d)
	if d.Path == "" {
		return d.BasePath
	}
	return d.Path
}

// next pops the next command if the device may be sent one now.
func (e *endpoint) next() *command {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || len(e.cmds) == 0 {
		return nil
	}
	if e.queue && now.Sub(e.lastSeen) >= e.s.cfg.QModeTimeWindow {
		return nil // LwM2M 1.1 TS Core §6.5: wait for the device to wake
	}
	c := e.cmds[0]
	e.cmds[0] = nil
	e.cmds = e.cmds[1:]
	return c
}

// respond publishes a command's response on the response topic.
func (e *endpoint) respond(c *command, data any) {
	e.publish(e.s.cfg.Translators.Response, uplink(c.extra, c.msgType, -1, data))
}

// conn is the connection to send on: the one the device last used, or a
// fresh one to its address if go-coap closed that one while it was idle.
func (e *endpoint) conn() (*coapnet.Conn, error) {
	e.mu.Lock()
	cc, peer, listener := e.cc, e.peer, e.listener
	e.mu.Unlock()
	if cc == nil {
		return nil, errors.New("lwm2m: no connection")
	}
	if cc.Context().Err() == nil {
		return cc, nil
	}
	ncc, err := e.s.net.ConnTo(listener, peer)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.cc == cc {
		e.setConn(ncc, listener)
	}
	e.mu.Unlock()
	return ncc, nil
}

// coapPath is the device-side path of p: under the alternate path the
// device registered (LwM2M 1.1 TS Core §6.2.1).
func (e *endpoint) coapPath(p codec.Path) string {
	e.mu.Lock()
	alt := e.reg.AlternatePath
	e.mu.Unlock()
	if alt == "" || alt == "/" {
		return p.String()
	}
	if p.IsRoot() {
		return alt
	}
	return alt + p.String()
}

// exec sends one command to the device and publishes the answer.
func (e *endpoint) exec(c *command) {
	var d commandData
	var p codec.Path
	if c.msgType != cmdWrite && c.msgType != cmdCreate {
		if err := json.Unmarshal(c.data, &d); err != nil {
			e.refuse(c, "", fmt.Errorf("lwm2m: bad data: %w", err))
			return
		}
		var err error
		if p, err = codec.ParsePath(d.Path); err != nil {
			e.refuse(c, d.Path, err)
			return
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.s.cfg.RequestTimeout)
	defer cancel()
	cc, err := e.conn()
	if err != nil {
		e.s.log.Info().Err(err).Str("endpoint", e.name).Msg("lwm2m_no_connection")
		e.respond(c, errorData(c.path(), codeUnavailable))
		return
	}
	switch c.msgType {
	case cmdRead:
		e.execRead(ctx, cc, c, p)
	case cmdDiscover:
		e.execDiscover(ctx, cc, c, p)
	case cmdWrite, cmdCreate:
		e.execWrite(ctx, cc, c)
	case cmdWriteAttr:
		e.execWriteAttr(ctx, cc, c, p)
	case cmdExecute:
		e.execExecute(ctx, cc, c, p, d.Args)
	case cmdDelete:
		e.simple(ctx, cc, c, p, codes.DELETE, nil)
	case cmdObserve:
		e.execObserve(ctx, cc, c, p)
	case cmdCancelObserve:
		e.execCancelObserve(ctx, cc, c, p)
	default:
		e.refuse(c, d.Path, fmt.Errorf("lwm2m: unknown msgType %q", c.msgType))
	}
}

// refuse answers a malformed command 4.00.
func (e *endpoint) refuse(c *command, reqPath string, err error) {
	e.s.log.Info().Err(err).Str("endpoint", e.name).Str("msgType", c.msgType).Msg("lwm2m_bad_command")
	e.respond(c, errorData(reqPath, codeBadRequest))
}

// failed answers a command the device did not answer.
func (e *endpoint) failed(c *command, reqPath string, err error) {
	e.s.log.Info().Err(err).Str("endpoint", e.name).Str("msgType", c.msgType).Str("path", reqPath).Msg("lwm2m_request_failed")
	code := uint8(codeUnavailable)
	if errors.Is(err, context.DeadlineExceeded) {
		code = codeTimeout
	}
	e.respond(c, errorData(reqPath, code))
}

// do sends req and returns the device's answer; the caller releases both.
func (e *endpoint) do(cc *coapnet.Conn, req *pool.Message) (*pool.Message, error) {
	resp, err := cc.Do(req)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.lastSeen = time.Now()
	e.mu.Unlock()
	return resp, nil
}

// decodeContent decodes a Read or Observe answer into the "content" array.
func (e *endpoint) decodeContent(p codec.Path, m *pool.Message) ([]codec.ContentItem, error) {
	body, err := m.ReadBody()
	if err != nil {
		return nil, fmt.Errorf("lwm2m: read body: %w", err)
	}
	def := codec.FormatTLV
	if p.IsResource() || p.IsResourceInstance() {
		def = codec.FormatText
	}
	recs, err := codec.Decode(contentFormat(m, def), p, body, e.s.reg)
	if err != nil {
		return nil, err
	}
	return codec.Content(recs), nil
}

// execRead serves read: GET path (LwM2M 1.1 TS Core §6.3.1).
func (e *endpoint) execRead(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path) {
	req, err := cc.NewGetRequest(ctx, e.coapPath(p))
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(req)
	resp, err := e.do(cc, req)
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(resp)
	e.respond(c, e.contentResponse(p, resp))
}

// contentResponse is the data of a read or observe answer.
func (e *endpoint) contentResponse(p codec.Path, resp *pool.Message) codec.Response {
	code := uint8(resp.Code())
	if resp.Code() != codes.Content {
		return codec.NewResponse(p, code, nil)
	}
	content, err := e.decodeContent(p, resp)
	if err != nil {
		e.s.log.Info().Err(err).Str("endpoint", e.name).Str("path", p.String()).Msg("lwm2m_payload_malformed")
		return codec.NewResponse(p, codeBadGateway, nil)
	}
	return codec.NewResponse(p, code, content)
}

// execDiscover serves discover: GET with Accept application/link-format
// (LwM2M 1.1 TS Core §6.3.2).
func (e *endpoint) execDiscover(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path) {
	req, err := cc.NewGetRequest(ctx, e.coapPath(p))
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(req)
	req.SetAccept(message.AppLinkFormat)
	resp, err := e.do(cc, req)
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(resp)
	if resp.Code() != codes.Content {
		e.respond(c, codec.NewResponse(p, uint8(resp.Code()), nil))
		return
	}
	body, _ := resp.ReadBody()
	links, err := codec.DecodeLinkFormat(body)
	if err != nil {
		e.s.log.Info().Err(err).Str("endpoint", e.name).Str("path", p.String()).Msg("lwm2m_payload_malformed")
		e.respond(c, codec.NewResponse(p, codeBadGateway, nil))
		return
	}
	e.respond(c, codec.NewResponse(p, uint8(resp.Code()), codec.LinkContent(links)))
}

// writeFormat picks the content format of a Write or Create: text/plain
// (or opaque) for one resource, which every client understands
// (LwM2M 1.1 TS Core §7.4.1); otherwise TLV for a 1.0 client and SenML JSON
// for a 1.1 client.
func (e *endpoint) writeFormat(base codec.Path, recs []codec.Record) codec.ContentFormat {
	if len(recs) == 1 && recs[0].Path == base && base.IsResource() {
		if recs[0].Value.Type() == codec.TypeOpaque {
			return codec.FormatOpaque
		}
		return codec.FormatText
	}
	e.mu.Lock()
	v := e.version
	e.mu.Unlock()
	if v == "1.1" {
		return codec.FormatSenMLJSON
	}
	return codec.FormatTLV
}

// execWrite serves write (PUT for one resource, POST — partial update — for
// a basePath and content; LwM2M 1.1 TS Core §6.3.3) and create (POST on the
// object, §6.3.6).
func (e *endpoint) execWrite(ctx context.Context, cc *coapnet.Conn, c *command) {
	var wc codec.WriteCommand
	if err := json.Unmarshal(c.data, &wc); err != nil {
		e.refuse(c, "", fmt.Errorf("lwm2m: bad data: %w", err))
		return
	}
	base, recs, err := wc.Records(e.s.reg)
	if err != nil {
		e.refuse(c, c.path(), err)
		return
	}
	if c.msgType == cmdCreate && wc.BasePath == "" {
		e.refuse(c, c.path(), errors.New("lwm2m: create needs basePath and content"))
		return
	}
	f := e.writeFormat(base, recs)
	if c.msgType == cmdCreate {
		f = e.writeFormat(codec.RootPath(), recs) // never text: a create carries an instance
	}
	payload, err := codec.Encode(f, nil, base, recs)
	if err != nil {
		e.refuse(c, base.String(), err)
		return
	}
	method := codes.PUT
	if wc.BasePath != "" {
		method = codes.POST
	}
	e.simple(ctx, cc, c, base, method, &body{format: f, data: payload})
}

type body struct {
	format codec.ContentFormat
	data   []byte
}

// simple sends a request whose answer carries no content (write, create,
// delete, execute, write-attr) and publishes its code.
func (e *endpoint) simple(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path, method codes.Code, b *body, queries ...string) {
	req := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(req)
	tok, err := message.GetToken()
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	req.SetCode(method)
	req.SetToken(tok)
	if err := req.SetPath(e.coapPath(p)); err != nil {
		e.refuse(c, p.String(), err)
		return
	}
	for _, q := range queries {
		req.AddQuery(q)
	}
	if b != nil {
		req.SetContentFormat(message.MediaType(b.format))
		req.SetBody(bytes.NewReader(b.data))
	}
	resp, err := e.do(cc, req)
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(resp)
	e.respond(c, codec.NewResponse(p, uint8(resp.Code()), nil))
}

// execExecute serves execute: POST with the arguments as text
// (LwM2M 1.1 TS Core §6.3.5).
func (e *endpoint) execExecute(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path, rawArgs json.RawMessage) {
	if !p.IsResource() {
		e.refuse(c, p.String(), errors.New("lwm2m: execute needs a resource path"))
		return
	}
	args := jsonText(rawArgs)
	var b *body
	if args != "" {
		b = &body{format: codec.FormatText, data: []byte(args)}
	}
	e.simple(ctx, cc, c, p, codes.POST, b)
}

// jsonText is a JSON string's text, or any other JSON value as written.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// writeAttrNames are the notification attributes of Write-Attributes
// (LwM2M 1.1 TS Core §5.1.2).
var writeAttrNames = []string{"pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"}

// execWriteAttr serves write-attr: PUT with the attributes as Uri-Query
// and no payload (LwM2M 1.1 TS Core §6.3.4).
func (e *endpoint) execWriteAttr(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path) {
	var attrs map[string]json.RawMessage
	_ = json.Unmarshal(c.data, &attrs)
	var qs []string
	for _, k := range writeAttrNames {
		if v, ok := attrs[k]; ok {
			t := jsonText(v)
			if strings.ContainsAny(t, "&;= ") {
				e.refuse(c, p.String(), fmt.Errorf("lwm2m: attribute %s: bad value %q", k, t))
				return
			}
			if t == "" {
				qs = append(qs, k) // an empty value removes the attribute
			} else {
				qs = append(qs, k+"="+t)
			}
		}
	}
	e.simple(ctx, cc, c, p, codes.PUT, nil, qs...)
}

// execObserve serves observe: GET with Observe 0 (LwM2M 1.1 TS Core
// §6.4.1, RFC 7641 §3.1). The answer goes to the response topic; later
// notifications, matched by token, to the notify topic.
func (e *endpoint) execObserve(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path) {
	req, err := cc.NewGetRequest(ctx, e.coapPath(p))
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(req)
	req.SetObserve(0)
	o := &observation{e: e, path: p, token: append([]byte(nil), req.Token()...), extra: c.extra, started: make(chan struct{})}
	e.addObservation(o)
	resp, err := e.do(cc, req)
	if err != nil {
		close(o.started)
		e.removeObservation(o)
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(resp)
	if _, oerr := resp.Observe(); oerr != nil || resp.Code() != codes.Content {
		e.removeObservation(o) // refused, or the resource is not observable
	}
	e.respond(c, e.contentResponse(p, resp))
	close(o.started)
}

// execCancelObserve serves cancel-observe: GET with Observe 1 and the
// observation's token (RFC 7641 §3.6).
func (e *endpoint) execCancelObserve(ctx context.Context, cc *coapnet.Conn, c *command, p codec.Path) {
	req, err := cc.NewGetRequest(ctx, e.coapPath(p))
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(req)
	req.SetObserve(1)
	e.mu.Lock()
	o := e.observing[p.String()]
	e.mu.Unlock()
	if o != nil {
		e.removeObservation(o)
		req.SetToken(o.token)
	}
	resp, err := e.do(cc, req)
	if err != nil {
		e.failed(c, p.String(), err)
		return
	}
	defer cc.ReleaseMessage(resp)
	e.respond(c, e.contentResponse(p, resp))
}

// addObservation records o, replacing an observation of the same path.
func (e *endpoint) addObservation(o *observation) {
	s := e.s
	s.mu.Lock()
	e.mu.Lock()
	if old := e.observing[o.path.String()]; old != nil {
		delete(s.tokens, string(old.token))
	}
	if !e.closed {
		e.observing[o.path.String()] = o
		s.tokens[string(o.token)] = o
	}
	e.mu.Unlock()
	s.mu.Unlock()
}

func (e *endpoint) removeObservation(o *observation) {
	s := e.s
	s.mu.Lock()
	e.mu.Lock()
	if s.tokens[string(o.token)] == o {
		delete(s.tokens, string(o.token))
	}
	if e.observing[o.path.String()] == o {
		delete(e.observing, o.path.String())
	}
	e.mu.Unlock()
	s.mu.Unlock()
}

// handleNotification publishes an observe notification on the notify
// topic: {…echoed keys…,"msgType":"notify","seqNum":n,"data":{…}}.
func (s *Server) handleNotification(r *request) {
	s.mu.Lock()
	o := s.tokens[string(r.msg.Token())]
	s.mu.Unlock()
	if o == nil {
		s.log.Debug().Str("peer", r.peer.String()).Msg("lwm2m_unknown_notification")
		return
	}
	e := o.e
	select {
	case <-o.started: // the observe's own answer is published first
	case <-time.After(time.Second):
		// The answer itself was lost or reordered behind this
		// notification: do not hold the peer's goroutine for it.
	}
	e.seen(r)
	seq := int64(0)
	if v, err := r.msg.Observe(); err == nil {
		seq = int64(v)
	}
	data := e.contentResponse(o.path, r.msg)
	if r.msg.Code() != codes.Content {
		e.removeObservation(o) // RFC 7641 §4.2: an error ends the observation
	}
	e.publish(s.cfg.Translators.Notify, uplink(o.extra, msgNotify, seq, data))
}

// autoObserve queues an observe of every object instance (or object
// without instances listed) of the registration, Security (0) excepted.
func (e *endpoint) autoObserve() {
	e.mu.Lock()
	objs := e.reg.Objects
	e.mu.Unlock()
	hasInstance := map[uint16]bool{}
	for _, p := range objs {
		if p.IsInstance() {
			hasInstance[p.Object()] = true
		}
	}
	for _, p := range objs {
		if p.Object() == 0 || (p.IsObject() && hasInstance[p.Object()]) {
			continue
		}
		data, _ := json.Marshal(map[string]string{"path": p.String()})
		e.mu.Lock()
		if len(e.cmds) < e.s.cfg.MaxQueuedCommands {
			e.cmds = append(e.cmds, &command{msgType: cmdObserve, data: data})
		}
		e.mu.Unlock()
	}
}
