package lwm2m

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file maps records to and from the JSON the MQTT side of the LwM2M
// gateway speaks (EMQX 5's conventions, /work/shared/PROTOCOLS.md "LwM2M"):
// read and observe responses carry "content":[{"path","value"}], write
// commands carry {"path","type","value"} or {"basePath","content":[…]}.

// ContentItem is one element of the "content" array of a read, observe or
// notify response: {"path":"/3/0/0","value":"Manifold"}.
type ContentItem struct {
	Path  string `json:"path"`
	Value Value  `json:"value"`
}

// Content turns decoded records into the "content" array of a response.
func Content(recs []Record) []ContentItem {
	out := make([]ContentItem, len(recs))
	for i, r := range recs {
		out[i] = ContentItem{Path: r.Path.String(), Value: r.Value}
	}
	return out
}

// LinkContent turns the links of a Discover response into the "content"
// array EMQX sends for it: one link-value string per link.
func LinkContent(links []Link) []string {
	out := make([]string, len(links))
	for i, l := range links {
		out[i] = l.String()
	}
	return out
}

// MarshalJSON gives v its JSON form in MQTT messages: String and Corelnk as
// strings, Integer, Unsigned Integer and Time (Unix seconds) as integers,
// Float as a number (NaN and infinities, which JSON lacks, as the strings
// "NaN", "+Inf" and "-Inf"), Boolean as true/false, Opaque as a base64
// string, Objlnk as "obj:inst" and TypeNone as null.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.typ {
	case TypeNone:
		return []byte("null"), nil
	case TypeString, TypeCorelnk:
		return appendJSONString(nil, v.str), nil
	case TypeInteger, TypeTime, TypeUnsigned:
		return v.AppendText(nil), nil
	case TypeFloat:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return appendJSONString(nil, strconv.FormatFloat(f, 'g', -1, 64)), nil
		}
		return appendJSONFloat(nil, f)
	case TypeBoolean:
		return strconv.AppendBool(nil, v.num != 0), nil
	case TypeOpaque, TypeObjlnk:
		return appendJSONString(nil, v.Text()), nil
	}
	return nil, fmt.Errorf("%w: type %s", ErrInvalidValue, v.typ)
}

// WriteItem is one element of a write command: {"path","type","value"}.
// Path is absolute or relative to the command's basePath; Type is an OMA
// type name (ParseType) and may be omitted when the object model knows the
// resource.
type WriteItem struct {
	Path  string          `json:"path"`
	Type  string          `json:"type,omitempty"`
	Value json.RawMessage `json:"value"`
}

// WriteCommand is the "data" object of a {"msgType":"write"} command: one
// item inline, or a basePath and a content list.
type WriteCommand struct {
	WriteItem
	BasePath string      `json:"basePath,omitempty"`
	Content  []WriteItem `json:"content,omitempty"`
}

// ParseWrite decodes the "data" object of a write command into the request
// path (basePath, or the single item's path) and typed records, ready for
// Encode in the content format the client accepts. Types come from each
// item's "type" when present, from m otherwise.
func ParseWrite(data []byte, m Model) (Path, []Record, error) {
	var c WriteCommand
	if err := json.Unmarshal(data, &c); err != nil {
		return Path{}, nil, fmt.Errorf("%w: %v", ErrWriteCommand, err)
	}
	return c.Records(m)
}

// Records types the items of c (see ParseWrite).
func (c WriteCommand) Records(m Model) (Path, []Record, error) {
	if c.BasePath == "" && c.Content == nil {
		if c.Path == "" {
			return Path{}, nil, fmt.Errorf("%w: neither path nor basePath", ErrWriteCommand)
		}
		if !strings.HasPrefix(c.Path, "/") {
			return Path{}, nil, fmt.Errorf("%w: path %q is not absolute", ErrWriteCommand, c.Path)
		}
		r, err := c.WriteItem.Record(Path{}, m)
		if err != nil {
			return Path{}, nil, err
		}
		return r.Path, []Record{r}, nil
	}
	base, err := ParsePath(c.BasePath)
	if err != nil {
		return Path{}, nil, fmt.Errorf("%w: basePath: %w", ErrWriteCommand, err)
	}
	if len(c.Content) == 0 {
		return Path{}, nil, fmt.Errorf("%w: empty content", ErrWriteCommand)
	}
	if len(c.Content) > MaxRecords {
		return Path{}, nil, fmt.Errorf("%w: %d write items", ErrTooLarge, len(c.Content))
	}
	recs := make([]Record, 0, len(c.Content))
	for _, it := range c.Content {
		r, err := it.Record(base, m)
		if err != nil {
			return Path{}, nil, err
		}
		if !r.Path.Under(base) {
			return Path{}, nil, fmt.Errorf("%w: %w: %s under %s", ErrWriteCommand, ErrPathMismatch, r.Path, base)
		}
		recs = append(recs, r)
	}
	return base, recs, nil
}

// Record types one write item; a relative Path is resolved against base.
func (it WriteItem) Record(base Path, m Model) (Record, error) {
	p, err := resolveItemPath(base, it.Path)
	if err != nil {
		return Record{}, fmt.Errorf("%w: path %q: %w", ErrWriteCommand, it.Path, err)
	}
	if p.depth < 3 {
		return Record{}, fmt.Errorf("%w: %s is not a resource", ErrWriteCommand, p)
	}
	t, known := resourceType(m, p)
	if it.Type != "" {
		if t, err = ParseType(it.Type); err != nil {
			return Record{}, fmt.Errorf("%w: %s: %w", ErrWriteCommand, p, err)
		}
		known = true
	}
	if !known || t == TypeNone {
		return Record{}, fmt.Errorf("%w: %s: no type given and none known", ErrWriteCommand, p)
	}
	v, err := ValueFromJSON(t, it.Value)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %w", ErrWriteCommand, p, err)
	}
	return Record{Path: p, Value: v}, nil
}

// resolveItemPath parses an absolute path, or one relative to base.
func resolveItemPath(base Path, s string) (Path, error) {
	if strings.HasPrefix(s, "/") {
		return ParsePath(s)
	}
	rel := base.String()
	if base.depth > 0 {
		rel += "/"
	}
	return ParsePath(rel + s)
}

// ValueFromJSON converts a JSON value of a write command into a value of
// type t. Numbers may also arrive as strings ("42"), booleans as true/false,
// 0/1 or their strings, Opaque as a base64 string, Objlnk as "obj:inst" and
// Time as Unix seconds or an RFC 3339 string.
func ValueFromJSON(t Type, raw json.RawMessage) (Value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Value{}, fmt.Errorf("%w: missing value", ErrInvalidValue)
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return Value{}, fmt.Errorf("%w: %v", ErrInvalidValue, err)
		}
	} else if t == TypeString || t == TypeCorelnk || t == TypeOpaque || t == TypeObjlnk {
		return Value{}, fmt.Errorf("%w: %s value must be a JSON string, got %s", ErrInvalidValue, t, raw)
	}
	switch t {
	case TypeString, TypeCorelnk, TypeOpaque, TypeObjlnk:
		return ParseText(t, text)
	case TypeBoolean:
		switch text {
		case "true", "1":
			return BooleanValue(true), nil
		case "false", "0":
			return BooleanValue(false), nil
		}
		return Value{}, fmt.Errorf("%w: boolean %s", ErrInvalidValue, raw)
	case TypeInteger, TypeUnsigned, TypeFloat, TypeTime:
		n, err := parseJSONNumber(strings.TrimSpace(text))
		if err != nil {
			if t == TypeTime && raw[0] == '"' {
				if tm, terr := time.Parse(time.RFC3339, text); terr == nil {
					return TimeValue(tm.Unix()), nil
				}
			}
			return Value{}, err
		}
		return n.typed(t, true)
	}
	return Value{}, fmt.Errorf("%w: cannot write a %s value", ErrInvalidValue, t)
}

// Response is the "data" object of a response on up/resp or up/notify:
// {"reqPath":"/3/0/0","code":"2.05","codeMsg":"content","content":[…]}.
// Content is []ContentItem for read, observe and notify, []string (LinkContent)
// for discover, and nil (left out) for write, execute, create and delete.
type Response struct {
	ReqPath string `json:"reqPath"`
	Code    string `json:"code"`
	CodeMsg string `json:"codeMsg"`
	Content any    `json:"content,omitempty"`
}

// NewResponse builds the response data for a request on reqPath answered with
// the CoAP code byte code (class<<5 | detail, RFC 7252 §3).
func NewResponse(reqPath Path, code uint8, content any) Response {
	c, msg := CodeText(code)
	return Response{ReqPath: reqPath.String(), Code: c, CodeMsg: msg, Content: content}
}

// coapCodeNames are the RFC 7252 §12.1.2 (and RFC 7959, RFC 8516) response
// code names in the snake_case EMQX puts in "codeMsg".
var coapCodeNames = map[uint8]string{
	0x41: "created", 0x42: "deleted", 0x43: "valid", 0x44: "changed", 0x45: "content", 0x5f: "continue",
	0x80: "bad_request", 0x81: "unauthorized", 0x82: "bad_option", 0x83: "forbidden", 0x84: "not_found",
	0x85: "method_not_allowed", 0x86: "not_acceptable", 0x88: "request_entity_incomplete", 0x8c: "precondition_failed",
	0x8d: "request_entity_too_large", 0x8f: "unsupported_content_format", 0x9d: "too_many_requests",
	0xa0: "internal_server_error", 0xa1: "not_implemented", 0xa2: "bad_gateway", 0xa3: "service_unavailable",
	0xa4: "gateway_timeout", 0xa5: "proxying_not_supported",
}

// CodeText formats a CoAP code byte as "c.dd" and names it as EMQX's
// "codeMsg" does ("2.05", "content"); an unregistered code is named
// "unknown".
func CodeText(code uint8) (string, string) {
	d := code & 0x1f
	c := string([]byte{'0' + code>>5, '.', '0' + d/10, '0' + d%10})
	if msg, ok := coapCodeNames[code]; ok {
		return c, msg
	}
	return c, "unknown"
}
