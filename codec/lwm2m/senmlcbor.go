package lwm2m

import (
	"fmt"
	"strings"
)

// SenML CBOR labels (RFC 8428 §6, Table 4).
const (
	senmlBver = -1
	senmlBN   = -2
	senmlBT   = -3
	senmlBU   = -4
	senmlBV   = -5
	senmlBS   = -16
	senmlN    = 0
	senmlU    = 1
	senmlV    = 2
	senmlVS   = 3
	senmlVB   = 4
	senmlS    = 5
	senmlT    = 6
	senmlUT   = 7
	senmlVD   = 8
)

// senmlVLO is the LwM2M Objlnk field, a text label in CBOR as in JSON (LwM2M
// 1.1 TS Core §7.4.5, "vlo").
const senmlVLO = "vlo"

// DecodeSenMLCBOR decodes a SenML CBOR pack (content format 112, RFC 8428 §6;
// LwM2M 1.1 TS Core §7.4.5): an array of maps keyed by the integer labels of
// RFC 8428 Table 4 and LwM2M's text label "vlo". "vd" is a byte string. The
// rules are those of DecodeSenMLJSON.
func DecodeSenMLCBOR(base Path, data []byte, m Model) ([]Record, error) {
	_ = base
	r := cborReader{b: data}
	n, err := r.container(cborArray)
	if err != nil {
		return nil, fmt.Errorf("senml cbor: %w", err)
	}
	s := senmlResolver{m: m}
	for i := 0; r.more(n, i); i++ {
		var raw senmlRaw
		if err := senmlCBORRecord(&r, &raw); err != nil {
			return nil, fmt.Errorf("senml cbor record %d: %w", i, err)
		}
		if err := s.add(&raw, i); err != nil {
			return nil, err
		}
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the pack", ErrCBOR, len(data)-r.off)
	}
	return s.recs, nil
}

// senmlCBORRecord reads one map into raw.
func senmlCBORRecord(r *cborReader, raw *senmlRaw) error {
	n, err := r.container(cborMap)
	if err != nil {
		return err
	}
	for i := 0; r.more(n, i); i++ {
		if err := r.skipTags(); err != nil {
			return err
		}
		if r.off >= len(r.b) {
			return fmt.Errorf("%w: truncated map", ErrCBOR)
		}
		if r.b[r.off]>>5 == cborText {
			k, err := r.str(cborText)
			if err != nil {
				return err
			}
			switch key := string(k); {
			case key == senmlVLO:
				var b []byte
				if b, err = r.str(cborText); err == nil {
					raw.vlo, raw.hasVLO = string(b), true
				}
			case strings.HasSuffix(key, "_"):
				return fmt.Errorf("%w: must-understand field %q", ErrSenML, key)
			default:
				err = r.skip(1)
			}
			if err != nil {
				return fmt.Errorf("field %q: %w", k, err)
			}
			continue
		}
		kn, err := r.num()
		if err != nil || kn.kind != numInt {
			return fmt.Errorf("%w: map key is neither an integer nor text", ErrCBOR)
		}
		var b []byte
		switch kn.i {
		case senmlBN:
			if b, err = r.str(cborText); err == nil {
				raw.bn, raw.hasBN = string(b), true
			}
		case senmlN:
			if b, err = r.str(cborText); err == nil {
				raw.n, raw.hasN = string(b), true
			}
		case senmlBT:
			var t number
			if t, err = r.num(); err == nil {
				raw.bt, raw.hasBT = t.float(), true
			}
		case senmlT:
			var t number
			if t, err = r.num(); err == nil {
				raw.t = t.float()
			}
		case senmlBV:
			raw.bv, err = r.num()
			raw.hasBV = true
		case senmlV:
			raw.v, err = r.num()
			raw.hasV = true
		case senmlVS:
			if b, err = r.str(cborText); err == nil {
				raw.vs, raw.hasVS = string(b), true
			}
		case senmlVB:
			raw.vb, err = r.boolean()
			raw.hasVB = true
		case senmlVD:
			if b, err = r.str(cborBytes); err == nil {
				raw.vd, raw.hasVD = append([]byte{}, b...), true
			}
		case senmlBver:
			var ver number
			if ver, err = r.num(); err == nil && (ver.kind != numInt || ver.i > 10) {
				return fmt.Errorf("%w: unsupported bver", ErrSenML)
			}
		default: // bu, bs, u, s, ut and unknown labels carry nothing LwM2M uses
			err = r.skip(1)
		}
		if err != nil {
			return fmt.Errorf("label %d: %w", kn.i, err)
		}
	}
	return nil
}

// EncodeSenMLCBOR appends recs as a SenML CBOR pack (RFC 8428 §6) to dst,
// with the naming rules of EncodeSenMLJSON.
func EncodeSenMLCBOR(dst []byte, base Path, recs []Record) ([]byte, error) {
	bn, rel := senmlNames(base, recs)
	dst = appendCBORHead(dst, cborArray, uint64(len(recs)))
	var name []byte
	for i, r := range recs {
		fields := uint64(1)
		if i == 0 && bn != "" {
			fields++
		}
		if r.Value.typ != TypeNone {
			fields++
		}
		if r.Time != 0 {
			fields++
		}
		dst = appendCBORHead(dst, cborMap, fields)
		if i == 0 && bn != "" {
			dst = appendCBORInt(dst, senmlBN)
			dst = appendCBORText(dst, bn)
		}
		if rel {
			name = relName(name[:0], base, r.Path)
		} else {
			name = r.Path.AppendTo(name[:0])
		}
		dst = appendCBORInt(dst, senmlN)
		dst = appendCBORHead(dst, cborText, uint64(len(name)))
		dst = append(dst, name...)
		v := r.Value
		switch v.typ {
		case TypeNone:
		case TypeString, TypeCorelnk:
			dst = appendCBORInt(dst, senmlVS)
			dst = appendCBORText(dst, v.str)
		case TypeInteger, TypeTime:
			dst = appendCBORInt(dst, senmlV)
			dst = appendCBORInt(dst, int64(v.num))
		case TypeUnsigned:
			dst = appendCBORInt(dst, senmlV)
			dst = appendCBORHead(dst, cborUint, v.num)
		case TypeFloat:
			dst = appendCBORInt(dst, senmlV)
			dst = appendCBORFloat(dst, v.Float())
		case TypeBoolean:
			dst = appendCBORInt(dst, senmlVB)
			dst = append(dst, 0xf4|byte(v.num))
		case TypeOpaque:
			dst = appendCBORInt(dst, senmlVD)
			dst = appendCBORHead(dst, cborBytes, uint64(len(v.bytes)))
			dst = append(dst, v.bytes...)
		case TypeObjlnk:
			dst = appendCBORText(dst, senmlVLO)
			dst = appendCBORText(dst, v.Text())
		default:
			return dst, fmt.Errorf("senml cbor %s: %w: type %s", r.Path, ErrInvalidValue, v.typ)
		}
		if r.Time != 0 {
			dst = appendCBORInt(dst, senmlT)
			dst = appendCBORFloat(dst, r.Time)
		}
	}
	return dst, nil
}
