package lwm2m

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DecodeSenMLJSON decodes a SenML JSON pack (content format 110, RFC 8428 §5;
// LwM2M 1.1 TS Core §7.4.5) into records with full paths. Base name, base
// time and base value apply to the records that follow them (RFC 8428 §4.5);
// a field ending in "_" is must-understand and rejected (RFC 8428 §4.4); a
// "bver" above 10 is rejected. Values are "v" (typed by m: Integer, Unsigned
// Integer, Float or Time), "vs", "vb", "vd" (base64url) and LwM2M's "vlo"
// (Objlnk "obj:inst"). A record without a value decodes with TypeNone, as in
// Read-Composite requests. base is not used: SenML names are absolute.
func DecodeSenMLJSON(base Path, data []byte, m Model) ([]Record, error) {
	_ = base
	var pack []map[string]json.RawMessage
	if err := json.Unmarshal(data, &pack); err != nil {
		return nil, fmt.Errorf("%w: senml: %v", ErrJSON, err)
	}
	if len(pack) > MaxRecords {
		return nil, fmt.Errorf("%w: %d senml records", ErrTooLarge, len(pack))
	}
	s := senmlResolver{m: m, recs: make([]Record, 0, len(pack))}
	for i, rec := range pack {
		var r senmlRaw
		if err := senmlJSONRecord(&r, rec); err != nil {
			return nil, fmt.Errorf("senml record %d: %w", i, err)
		}
		if err := s.add(&r, i); err != nil {
			return nil, err
		}
	}
	return s.recs, nil
}

// senmlJSONRecord fills r from the fields of one JSON record.
func senmlJSONRecord(r *senmlRaw, rec map[string]json.RawMessage) error {
	var err error
	for k, raw := range rec {
		switch k {
		case "bn":
			r.hasBN = true
			err = jsonString(raw, &r.bn)
		case "n":
			r.hasN = true
			err = jsonString(raw, &r.n)
		case "bt":
			r.hasBT = true
			r.bt, err = jsonFloat(raw)
		case "t":
			r.t, err = jsonFloat(raw)
		case "bv":
			r.hasBV = true
			r.bv, err = jsonNumber(raw)
		case "v":
			r.hasV = true
			r.v, err = jsonNumber(raw)
		case "vs":
			r.hasVS = true
			err = jsonString(raw, &r.vs)
		case "vb":
			r.hasVB = true
			if json.Unmarshal(raw, &r.vb) != nil {
				err = fmt.Errorf("%w: %s is not a boolean", ErrJSON, raw)
			}
		case "vd":
			r.hasVD = true
			var s string
			if err = jsonString(raw, &s); err == nil {
				r.vd, err = decodeBase64Data(s)
			}
		case "vlo":
			r.hasVLO = true
			err = jsonString(raw, &r.vlo)
		case "bver":
			var ver number
			if ver, err = jsonNumber(raw); err == nil && (ver.kind != numInt || ver.i > 10) {
				return fmt.Errorf("%w: unsupported bver %s", ErrSenML, raw)
			}
		default:
			if strings.HasSuffix(k, "_") {
				return fmt.Errorf("%w: must-understand field %q", ErrSenML, k)
			}
		}
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
	}
	return nil
}

func jsonString(raw json.RawMessage, s *string) error {
	if err := json.Unmarshal(raw, s); err != nil {
		return fmt.Errorf("%w: %s is not a string", ErrJSON, raw)
	}
	return nil
}

func jsonNumber(raw json.RawMessage) (number, error) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return number{}, fmt.Errorf("%w: %s is not a number", ErrJSON, raw)
	}
	return parseJSONNumber(string(raw))
}

func jsonFloat(raw json.RawMessage) (float64, error) {
	n, err := jsonNumber(raw)
	return n.float(), err
}

// EncodeSenMLJSON appends recs as a SenML JSON pack (RFC 8428 §5) to dst. The
// first record carries the base name base+"/" when every record lies below
// base, and names are relative to it; otherwise names are full paths.
func EncodeSenMLJSON(dst []byte, base Path, recs []Record) ([]byte, error) {
	bn, rel := senmlNames(base, recs)
	dst = append(dst, '[')
	var err error
	for i, r := range recs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if i == 0 && bn != "" {
			dst = append(dst, `"bn":`...)
			dst = appendJSONString(dst, bn)
			dst = append(dst, ',')
		}
		dst = append(dst, `"n":"`...)
		if rel {
			dst = relName(dst, base, r.Path)
		} else {
			dst = r.Path.AppendTo(dst)
		}
		dst = append(dst, '"')
		if dst, err = appendSenMLJSONValue(dst, r.Value); err != nil {
			return dst, fmt.Errorf("senml json %s: %w", r.Path, err)
		}
		if r.Time != 0 {
			dst = append(dst, `,"t":`...)
			if dst, err = appendJSONFloat(dst, r.Time); err != nil {
				return dst, fmt.Errorf("senml json %s time: %w", r.Path, err)
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

// appendSenMLJSONValue appends ,"<key>":<value> for v (nothing for TypeNone).
func appendSenMLJSONValue(dst []byte, v Value) ([]byte, error) {
	switch v.typ {
	case TypeNone:
		return dst, nil
	case TypeString, TypeCorelnk:
		dst = append(dst, `,"vs":`...)
		return appendJSONString(dst, v.str), nil
	case TypeInteger, TypeTime:
		dst = append(dst, `,"v":`...)
		return strconv.AppendInt(dst, int64(v.num), 10), nil
	case TypeUnsigned:
		dst = append(dst, `,"v":`...)
		return strconv.AppendUint(dst, v.num, 10), nil
	case TypeFloat:
		dst = append(dst, `,"v":`...)
		return appendJSONFloat(dst, v.Float())
	case TypeBoolean:
		if v.num != 0 {
			return append(dst, `,"vb":true`...), nil
		}
		return append(dst, `,"vb":false`...), nil
	case TypeOpaque:
		dst = append(dst, `,"vd":"`...)
		dst = base64.RawURLEncoding.AppendEncode(dst, v.bytes)
		return append(dst, '"'), nil
	case TypeObjlnk:
		dst = append(dst, `,"vlo":"`...)
		dst = v.AppendText(dst)
		return append(dst, '"'), nil
	}
	return dst, fmt.Errorf("%w: type %s", ErrInvalidValue, v.typ)
}
