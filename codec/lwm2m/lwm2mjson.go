package lwm2m

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
)

// lwm2mJSON is the LwM2M 1.0 JSON document (LwM2M 1.0.2 TS §6.4.4): a base
// name, a base time and entries.
type lwm2mJSON struct {
	BN *string          `json:"bn"`
	BT *json.Number     `json:"bt"`
	E  []lwm2mJSONEntry `json:"e"`
}

type lwm2mJSONEntry struct {
	N  *string      `json:"n"`
	V  *json.Number `json:"v"`
	SV *string      `json:"sv"`
	BV *bool        `json:"bv"`
	OV *string      `json:"ov"`
	T  *json.Number `json:"t"`
}

// DecodeLwM2MJSON decodes an LwM2M JSON payload (content formats 11543 and
// 1543; LwM2M 1.0.2 TS §6.4.4, kept in LwM2M 1.1 TS Core §7.4.6 for
// compatibility): {"bn":"/3/0/","bt":..,"e":[{"n":"0","sv":"..."},...]}.
// Names are bn+n; without bn they are relative to base. "v" is a number typed
// by m, "sv" a string (base64 Opaque when m says the resource is Opaque), "bv"
// a boolean and "ov" an Objlnk "obj:inst"; times are bt+t.
func DecodeLwM2MJSON(base Path, data []byte, m Model) ([]Record, error) {
	var doc lwm2mJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: lwm2m json: %v", ErrJSON, err)
	}
	if len(doc.E) > MaxRecords {
		return nil, fmt.Errorf("%w: %d lwm2m json entries", ErrTooLarge, len(doc.E))
	}
	s := senmlResolver{m: m, recs: make([]Record, 0, len(doc.E))}
	if doc.BN != nil {
		s.bn = *doc.BN
	} else {
		s.bn = base.String()
		if base.depth > 0 {
			s.bn += "/"
		}
	}
	if doc.BT != nil {
		n, err := parseJSONNumber(doc.BT.String())
		if err != nil {
			return nil, fmt.Errorf("lwm2m json bt: %w", err)
		}
		s.bt = n.float()
	}
	for i, e := range doc.E {
		r := senmlRaw{opaqueIsBase64: true}
		if e.N != nil {
			r.n, r.hasN = *e.N, true
		}
		if e.V != nil {
			n, err := parseJSONNumber(e.V.String())
			if err != nil {
				return nil, fmt.Errorf("lwm2m json entry %d: %w", i, err)
			}
			r.v, r.hasV = n, true
		}
		if e.SV != nil {
			r.vs, r.hasVS = *e.SV, true
		}
		if e.BV != nil {
			r.vb, r.hasVB = *e.BV, true
		}
		if e.OV != nil {
			r.vlo, r.hasVLO = *e.OV, true
		}
		if e.T != nil {
			n, err := parseJSONNumber(e.T.String())
			if err != nil {
				return nil, fmt.Errorf("lwm2m json entry %d t: %w", i, err)
			}
			r.t = n.float()
		}
		if err := s.add(&r, i); err != nil {
			return nil, fmt.Errorf("lwm2m json: %w", err)
		}
	}
	return s.recs, nil
}

// EncodeLwM2MJSON appends recs as an LwM2M JSON document for the request path
// base to dst: bn is base+"/" and names are relative to it ("" for base
// itself). Opaque values are base64 "sv" strings.
func EncodeLwM2MJSON(dst []byte, base Path, recs []Record) ([]byte, error) {
	dst = append(dst, `{"bn":"`...)
	dst = base.AppendTo(dst)
	if base.depth > 0 {
		dst = append(dst, '/')
	}
	dst = append(dst, `","e":[`...)
	var err error
	for i, r := range recs {
		if !r.Path.Under(base) {
			return dst, fmt.Errorf("%w: %s under %s", ErrPathMismatch, r.Path, base)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"n":"`...)
		dst = relName(dst, base, r.Path)
		dst = append(dst, '"')
		v := r.Value
		switch v.typ {
		case TypeString, TypeCorelnk:
			dst = append(dst, `,"sv":`...)
			dst = appendJSONString(dst, v.str)
		case TypeOpaque:
			dst = append(dst, `,"sv":"`...)
			dst = base64.StdEncoding.AppendEncode(dst, v.bytes)
			dst = append(dst, '"')
		case TypeBoolean:
			dst = append(dst, `,"bv":`...)
			dst = strconv.AppendBool(dst, v.num != 0)
		case TypeObjlnk:
			dst = append(dst, `,"ov":"`...)
			dst = v.AppendText(dst)
			dst = append(dst, '"')
		case TypeFloat:
			dst = append(dst, `,"v":`...)
			if dst, err = appendJSONFloat(dst, v.Float()); err != nil {
				return dst, fmt.Errorf("lwm2m json %s: %w", r.Path, err)
			}
		case TypeInteger, TypeTime, TypeUnsigned:
			dst = append(dst, `,"v":`...)
			dst = v.AppendText(dst)
		}
		if r.Time != 0 {
			dst = append(dst, `,"t":`...)
			if dst, err = appendJSONFloat(dst, r.Time); err != nil {
				return dst, fmt.Errorf("lwm2m json %s time: %w", r.Path, err)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...), nil
}
