package lwm2m

import (
	"encoding/binary"
	"fmt"
	"math"
)

// TLV identifier types, bits 7-6 of the type byte (LwM2M 1.1 TS Core §7.4.3,
// Table 7.4.3-1).
const (
	tlvObjectInstance   = 0b00
	tlvResourceInstance = 0b01
	tlvMultipleResource = 0b10
	tlvResource         = 0b11
)

var tlvKindNames = [4]string{"object instance", "resource instance", "multiple resource", "resource"}

// tlv is one decoded TLV header and the value bytes it frames.
type tlv struct {
	kind  byte
	id    uint16
	value []byte
}

// readTLV decodes the TLV at b[off:] and returns it with the offset after it.
func readTLV(b []byte, off int) (tlv, int, error) {
	start := off
	if off >= len(b) {
		return tlv{}, off, fmt.Errorf("%w: no type byte at offset %d", ErrTLVTruncated, start)
	}
	t := b[off]
	off++
	var e tlv
	e.kind = t >> 6
	// Bit 5: the identifier is 8 (0) or 16 (1) bits long.
	if t&0x20 == 0 {
		if off+1 > len(b) {
			return e, start, fmt.Errorf("%w: identifier at offset %d", ErrTLVTruncated, start)
		}
		e.id = uint16(b[off])
		off++
	} else {
		if off+2 > len(b) {
			return e, start, fmt.Errorf("%w: identifier at offset %d", ErrTLVTruncated, start)
		}
		e.id = binary.BigEndian.Uint16(b[off:])
		off += 2
	}
	// Bits 4-3: the length is in bits 2-0 (00) or in the next 1, 2 or 3 bytes.
	n := 0
	switch lt := int(t>>3) & 3; lt {
	case 0:
		n = int(t & 7)
	default:
		if off+lt > len(b) {
			return e, start, fmt.Errorf("%w: length field at offset %d", ErrTLVTruncated, start)
		}
		for i := 0; i < lt; i++ {
			n = n<<8 | int(b[off+i])
		}
		off += lt
	}
	if n > len(b)-off {
		return e, start, fmt.Errorf("%w: %s %d at offset %d declares %d bytes, %d left",
			ErrTLVTruncated, tlvKindNames[e.kind], e.id, start, n, len(b)-off)
	}
	if e.id > MaxID {
		return e, start, fmt.Errorf("%w: %s id %d at offset %d", ErrInvalidPath, tlvKindNames[e.kind], e.id, start)
	}
	e.value = b[off : off+n]
	return e, off + n, nil
}

// DecodeTLV decodes an LwM2M TLV payload (content formats 11542 and 1542,
// LwM2M 1.1 TS Core §7.4.3) received for the request path base, which must
// name an Object, Object Instance, Resource or Resource Instance. TLV carries
// no types: m gives each resource's type (a nil m, or an unknown resource,
// decodes as Opaque). The records come in wire order with full paths.
//
// Accepted layouts: for an Object, Object Instance TLVs holding Resource and
// Multiple Resource TLVs; for an Object Instance, Resource TLVs (or one Object
// Instance TLV with the same id); for a Resource, one Resource TLV or one
// Multiple Resource TLV with its id, or bare Resource Instance TLVs; for a
// Resource Instance, one Resource Instance TLV with its id.
func DecodeTLV(base Path, data []byte, m Model) ([]Record, error) {
	if base.depth == 0 {
		return nil, fmt.Errorf("%w: tlv needs an object path, got /", ErrTLVStructure)
	}
	d := tlvDecoder{m: m}
	for off := 0; off < len(data); {
		e, next, err := readTLV(data, off)
		if err != nil {
			return nil, err
		}
		if err := d.top(base, e, off); err != nil {
			return nil, err
		}
		off = next
	}
	return d.recs, nil
}

type tlvDecoder struct {
	m    Model
	recs []Record
}

// top places a top-level entry relative to the request path.
func (d *tlvDecoder) top(base Path, e tlv, off int) error {
	depth := base.depth
	switch e.kind {
	case tlvObjectInstance:
		switch {
		case depth == 1:
			p, _ := base.Child(e.id)
			return d.instance(p, e.value)
		case depth == 2 && e.id == base.ids[1]:
			return d.instance(base, e.value)
		}
	case tlvResource, tlvMultipleResource:
		switch {
		case depth == 2:
			p, _ := base.Child(e.id)
			return d.resource(p, e)
		case depth == 3 && e.id == base.ids[2]:
			return d.resource(base, e)
		}
	case tlvResourceInstance:
		switch {
		case depth == 3:
			p, _ := base.Child(e.id)
			return d.value(p, e.value)
		case depth == 4 && e.id == base.ids[3]:
			return d.value(base, e.value)
		}
	}
	return fmt.Errorf("%w: %s %d at offset %d in a response for %s", ErrTLVStructure, tlvKindNames[e.kind], e.id, off, base)
}

// instance decodes the Resource TLVs inside an Object Instance TLV at p.
func (d *tlvDecoder) instance(p Path, b []byte) error {
	for off := 0; off < len(b); {
		e, next, err := readTLV(b, off)
		if err != nil {
			return fmt.Errorf("in %s: %w", p, err)
		}
		if e.kind != tlvResource && e.kind != tlvMultipleResource {
			return fmt.Errorf("%w: %s %d inside object instance %s", ErrTLVStructure, tlvKindNames[e.kind], e.id, p)
		}
		rp, _ := p.Child(e.id)
		if err := d.resource(rp, e); err != nil {
			return err
		}
		off = next
	}
	return nil
}

// resource decodes a Resource TLV, or the Resource Instance TLVs inside a
// Multiple Resource TLV, at p.
func (d *tlvDecoder) resource(p Path, e tlv) error {
	if e.kind == tlvResource {
		return d.value(p, e.value)
	}
	b := e.value
	for off := 0; off < len(b); {
		ri, next, err := readTLV(b, off)
		if err != nil {
			return fmt.Errorf("in %s: %w", p, err)
		}
		if ri.kind != tlvResourceInstance {
			return fmt.Errorf("%w: %s %d inside multiple resource %s", ErrTLVStructure, tlvKindNames[ri.kind], ri.id, p)
		}
		rip, _ := p.Child(ri.id)
		if err := d.value(rip, ri.value); err != nil {
			return err
		}
		off = next
	}
	return nil
}

// value types the bytes of a Resource or Resource Instance with the model.
func (d *tlvDecoder) value(p Path, b []byte) error {
	if len(d.recs) >= MaxRecords {
		return fmt.Errorf("%w: more than %d tlv entries", ErrTooLarge, MaxRecords)
	}
	t, _ := resourceType(d.m, p)
	v, err := tlvValue(t, b)
	if err != nil {
		return fmt.Errorf("tlv %s: %w", p, err)
	}
	d.recs = append(d.recs, Record{Path: p, Value: v})
	return nil
}

// tlvValue decodes the value bytes of one entry as type t (LwM2M 1.1 TS Core
// §7.4.3 and Appendix C: big-endian two's complement integers of 1, 2, 4 or 8
// bytes, IEEE 754 floats of 4 or 8, one-byte booleans, 4-byte object links).
func tlvValue(t Type, b []byte) (Value, error) {
	switch t {
	case TypeString:
		return StringValue(string(b)), nil
	case TypeCorelnk:
		return CorelnkValue(string(b)), nil
	case TypeInteger, TypeTime:
		var i int64
		switch len(b) {
		case 1:
			i = int64(int8(b[0]))
		case 2:
			i = int64(int16(binary.BigEndian.Uint16(b)))
		case 4:
			i = int64(int32(binary.BigEndian.Uint32(b)))
		case 8:
			i = int64(binary.BigEndian.Uint64(b))
		default:
			return Value{}, fmt.Errorf("%w: %s of %d bytes", ErrInvalidValue, t, len(b))
		}
		if t == TypeTime {
			return TimeValue(i), nil
		}
		return IntegerValue(i), nil
	case TypeUnsigned:
		switch len(b) {
		case 1:
			return UnsignedValue(uint64(b[0])), nil
		case 2:
			return UnsignedValue(uint64(binary.BigEndian.Uint16(b))), nil
		case 4:
			return UnsignedValue(uint64(binary.BigEndian.Uint32(b))), nil
		case 8:
			return UnsignedValue(binary.BigEndian.Uint64(b)), nil
		}
		return Value{}, fmt.Errorf("%w: unsigned integer of %d bytes", ErrInvalidValue, len(b))
	case TypeFloat:
		switch len(b) {
		case 4:
			return FloatValue(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
		case 8:
			return FloatValue(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
		return Value{}, fmt.Errorf("%w: float of %d bytes", ErrInvalidValue, len(b))
	case TypeBoolean:
		if len(b) != 1 || b[0] > 1 {
			return Value{}, fmt.Errorf("%w: boolean % x", ErrInvalidValue, b)
		}
		return BooleanValue(b[0] == 1), nil
	case TypeObjlnk:
		if len(b) != 4 {
			return Value{}, fmt.Errorf("%w: objlnk of %d bytes", ErrInvalidValue, len(b))
		}
		return ObjlnkValue(ObjectLink{Object: binary.BigEndian.Uint16(b), Instance: binary.BigEndian.Uint16(b[2:])}), nil
	}
	// Opaque, executable (none) and unknown resources keep their bytes.
	return OpaqueValue(append([]byte{}, b...)), nil
}

// EncodeTLV appends the TLV form (LwM2M 1.1 TS Core §7.4.3) of recs, for the
// request path base, to dst. Every record must be a Resource or Resource
// Instance under base with a value. Consecutive records of one Object
// Instance share an Object Instance TLV (when base is an Object) and
// consecutive Resource Instances of one Resource share a Multiple Resource
// TLV; sort recs by path first (SortRecords) to get one of each.
func EncodeTLV(dst []byte, base Path, recs []Record) ([]byte, error) {
	if base.depth == 0 {
		return dst, fmt.Errorf("%w: tlv needs an object path, got /", ErrTLVStructure)
	}
	for _, r := range recs {
		if !r.Path.Under(base) || r.Path.depth < 3 {
			if r.Path.depth < 3 {
				return dst, fmt.Errorf("%w: tlv record %s is not a resource", ErrTLVStructure, r.Path)
			}
			return dst, fmt.Errorf("%w: %s under %s", ErrPathMismatch, r.Path, base)
		}
		if r.Value.typ == TypeNone {
			return dst, fmt.Errorf("%w: tlv record %s has no value", ErrInvalidValue, r.Path)
		}
	}
	var err error
	switch base.depth {
	case 1:
		for i := 0; i < len(recs); {
			j := i + 1
			for j < len(recs) && recs[j].Path.ids[1] == recs[i].Path.ids[1] {
				j++
			}
			if dst, err = appendTLVResources(dst, tlvObjectInstance, recs[i].Path.ids[1], recs[i:j]); err != nil {
				return dst, err
			}
			i = j
		}
		return dst, nil
	case 4:
		for _, r := range recs {
			if dst, err = appendTLVValue(dst, tlvResourceInstance, r.Path.ids[3], r.Value); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return appendResources(dst, recs)
}

// appendResources appends Resource TLVs and Multiple Resource TLVs for recs.
func appendResources(dst []byte, recs []Record) ([]byte, error) {
	var err error
	for i := 0; i < len(recs); {
		r := recs[i]
		if r.Path.depth == 3 {
			if dst, err = appendTLVValue(dst, tlvResource, r.Path.ids[2], r.Value); err != nil {
				return dst, err
			}
			i++
			continue
		}
		j := i + 1
		for j < len(recs) && recs[j].Path.depth == 4 && recs[j].Path.ids[1] == r.Path.ids[1] && recs[j].Path.ids[2] == r.Path.ids[2] {
			j++
		}
		hdr := len(dst)
		dst = append(dst, 0, 0, 0, 0, 0, 0) // room for the largest header
		body := len(dst)
		for _, ri := range recs[i:j] {
			if dst, err = appendTLVValue(dst, tlvResourceInstance, ri.Path.ids[3], ri.Value); err != nil {
				return dst, err
			}
		}
		if dst, err = closeTLV(dst, hdr, body, tlvMultipleResource, r.Path.ids[2]); err != nil {
			return dst, err
		}
		i = j
	}
	return dst, nil
}

// appendTLVResources appends an Object Instance TLV holding recs.
func appendTLVResources(dst []byte, kind byte, id uint16, recs []Record) ([]byte, error) {
	hdr := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	body := len(dst)
	dst, err := appendResources(dst, recs)
	if err != nil {
		return dst, err
	}
	return closeTLV(dst, hdr, body, kind, id)
}

// closeTLV writes the header of the entry whose body starts at body into the
// 6 bytes reserved at hdr and moves the body down behind it.
func closeTLV(dst []byte, hdr, body int, kind byte, id uint16) ([]byte, error) {
	if len(dst)-body > 0xffffff {
		return dst, fmt.Errorf("%w: tlv %s %d of %d bytes", ErrTooLarge, tlvKindNames[kind], id, len(dst)-body)
	}
	var h [6]byte
	hn := tlvHeader(h[:0], kind, id, len(dst)-body)
	copy(dst[hdr:], hn)
	n := copy(dst[hdr+len(hn):], dst[body:])
	return dst[:hdr+len(hn)+n], nil
}

// tlvHeader appends the type byte, identifier and length of an entry.
func tlvHeader(dst []byte, kind byte, id uint16, n int) []byte {
	t := kind << 6
	if id > 0xff {
		t |= 0x20
	}
	switch {
	case n < 8:
		t |= byte(n)
	case n <= 0xff:
		t |= 1 << 3
	case n <= 0xffff:
		t |= 2 << 3
	default:
		t |= 3 << 3
	}
	dst = append(dst, t)
	if id > 0xff {
		dst = append(dst, byte(id>>8), byte(id))
	} else {
		dst = append(dst, byte(id))
	}
	switch {
	case n < 8:
	case n <= 0xff:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, byte(n>>8), byte(n))
	default:
		dst = append(dst, byte(n>>16), byte(n>>8), byte(n))
	}
	return dst
}

// appendTLVValue appends one Resource or Resource Instance entry holding v.
func appendTLVValue(dst []byte, kind byte, id uint16, v Value) ([]byte, error) {
	var buf [8]byte
	var b []byte
	switch v.typ {
	case TypeString, TypeCorelnk:
		if len(v.str) > 0xffffff {
			return dst, fmt.Errorf("%w: tlv value of %d bytes", ErrTooLarge, len(v.str))
		}
		dst = tlvHeader(dst, kind, id, len(v.str))
		return append(dst, v.str...), nil
	case TypeOpaque:
		if len(v.bytes) > 0xffffff {
			return dst, fmt.Errorf("%w: tlv value of %d bytes", ErrTooLarge, len(v.bytes))
		}
		dst = tlvHeader(dst, kind, id, len(v.bytes))
		return append(dst, v.bytes...), nil
	case TypeInteger, TypeTime:
		b = appendTLVInt(buf[:0], int64(v.num))
	case TypeUnsigned:
		b = appendTLVUint(buf[:0], v.num)
	case TypeFloat:
		f := v.Float()
		if f32 := float32(f); float64(f32) == f {
			b = binary.BigEndian.AppendUint32(buf[:0], math.Float32bits(f32))
		} else {
			b = binary.BigEndian.AppendUint64(buf[:0], v.num)
		}
	case TypeBoolean:
		b = append(buf[:0], byte(v.num))
	case TypeObjlnk:
		b = binary.BigEndian.AppendUint32(buf[:0], uint32(v.num))
	default:
		return dst, fmt.Errorf("%w: tlv cannot carry %s", ErrInvalidValue, v.typ)
	}
	dst = tlvHeader(dst, kind, id, len(b))
	return append(dst, b...), nil
}

// appendTLVInt appends i in the fewest of 1, 2, 4 or 8 bytes.
func appendTLVInt(dst []byte, i int64) []byte {
	switch {
	case i >= math.MinInt8 && i <= math.MaxInt8:
		return append(dst, byte(i))
	case i >= math.MinInt16 && i <= math.MaxInt16:
		return binary.BigEndian.AppendUint16(dst, uint16(i))
	case i >= math.MinInt32 && i <= math.MaxInt32:
		return binary.BigEndian.AppendUint32(dst, uint32(i))
	}
	return binary.BigEndian.AppendUint64(dst, uint64(i))
}

// appendTLVUint appends u in the fewest of 1, 2, 4 or 8 bytes.
func appendTLVUint(dst []byte, u uint64) []byte {
	switch {
	case u <= math.MaxUint8:
		return append(dst, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(dst, uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(dst, uint32(u))
	}
	return binary.BigEndian.AppendUint64(dst, u)
}
