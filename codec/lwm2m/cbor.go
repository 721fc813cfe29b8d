package lwm2m

import (
	"encoding/binary"
	"fmt"
	"math"
)

// This file is the small subset of CBOR (RFC 8949) that SenML CBOR needs:
// unsigned and negative integers, byte and text strings (definite and
// indefinite), arrays and maps (definite and indefinite), tags (skipped),
// booleans, null/undefined and half, single and double floats. Nesting is
// bounded by maxCBORDepth and every length is checked against the buffer
// before use, so no input can make it allocate more than the input size.

// CBOR major types (RFC 8949 §3.1).
const (
	cborUint   = 0
	cborNegint = 1
	cborBytes  = 2
	cborText   = 3
	cborArray  = 4
	cborMap    = 5
	cborTag    = 6
	cborSimple = 7
	cborBreak  = 0xff
)

type cborReader struct {
	b   []byte
	off int
}

// head reads an initial byte and its argument. indef is true for additional
// information 31 (indefinite length, or break for major 7).
func (r *cborReader) head() (major byte, arg uint64, indef bool, err error) {
	if r.off >= len(r.b) {
		return 0, 0, false, fmt.Errorf("%w: truncated at offset %d", ErrCBOR, r.off)
	}
	ib := r.b[r.off]
	r.off++
	major, ai := ib>>5, ib&0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), false, nil
	case ai <= 27:
		n := 1 << (ai - 24)
		if r.off+n > len(r.b) {
			return 0, 0, false, fmt.Errorf("%w: truncated argument at offset %d", ErrCBOR, r.off-1)
		}
		switch n {
		case 1:
			arg = uint64(r.b[r.off])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(r.b[r.off:]))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(r.b[r.off:]))
		case 8:
			arg = binary.BigEndian.Uint64(r.b[r.off:])
		}
		r.off += n
		return major, arg, false, nil
	case ai == 31 && major != cborUint && major != cborNegint && major != cborTag:
		return major, 0, true, nil
	}
	return 0, 0, false, fmt.Errorf("%w: reserved additional information %d at offset %d", ErrCBOR, ai, r.off-1)
}

// isBreak consumes a break byte if one is next.
func (r *cborReader) isBreak() bool {
	if r.off < len(r.b) && r.b[r.off] == cborBreak {
		r.off++
		return true
	}
	return false
}

// skipTags reads past any tags before a data item (tags carry no meaning
// for SenML).
func (r *cborReader) skipTags() error {
	for r.off < len(r.b) && r.b[r.off]>>5 == cborTag {
		if _, _, _, err := r.head(); err != nil {
			return err
		}
	}
	return nil
}

// str reads a byte or text string (want is cborBytes or cborText).
func (r *cborReader) str(want byte) ([]byte, error) {
	if err := r.skipTags(); err != nil {
		return nil, err
	}
	at := r.off
	major, arg, indef, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != want {
		return nil, fmt.Errorf("%w: major type %d at offset %d, want %d", ErrCBOR, major, at, want)
	}
	if !indef {
		return r.take(arg, at)
	}
	var out []byte
	for !r.isBreak() {
		cat := r.off
		m, n, ind, err := r.head()
		if err != nil {
			return nil, err
		}
		if m != want || ind {
			return nil, fmt.Errorf("%w: bad chunk at offset %d", ErrCBOR, cat)
		}
		chunk, err := r.take(n, cat)
		if err != nil {
			return nil, err
		}
		out = append(out, chunk...)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// take returns the next n bytes.
func (r *cborReader) take(n uint64, at int) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, fmt.Errorf("%w: string at offset %d of %d bytes exceeds buffer", ErrCBOR, at, n)
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// num reads an integer or a float.
func (r *cborReader) num() (number, error) {
	if err := r.skipTags(); err != nil {
		return number{}, err
	}
	at := r.off
	major, arg, _, err := r.head()
	if err != nil {
		return number{}, err
	}
	switch major {
	case cborUint:
		if arg <= math.MaxInt64 {
			return number{kind: numInt, i: int64(arg)}, nil
		}
		return number{kind: numUint, u: arg}, nil
	case cborNegint:
		if arg <= math.MaxInt64 {
			return number{kind: numInt, i: -1 - int64(arg)}, nil
		}
		return number{kind: numFloat, f: -1 - float64(arg)}, nil
	case cborSimple:
		switch r.b[at] & 0x1f {
		case 25:
			return number{kind: numFloat, f: halfToFloat(uint16(arg))}, nil
		case 26:
			return number{kind: numFloat, f: float64(math.Float32frombits(uint32(arg)))}, nil
		case 27:
			return number{kind: numFloat, f: math.Float64frombits(arg)}, nil
		}
	}
	return number{}, fmt.Errorf("%w: item at offset %d is not a number", ErrCBOR, at)
}

// boolean reads true or false.
func (r *cborReader) boolean() (bool, error) {
	if err := r.skipTags(); err != nil {
		return false, err
	}
	if r.off < len(r.b) {
		switch r.b[r.off] {
		case 0xf4:
			r.off++
			return false, nil
		case 0xf5:
			r.off++
			return true, nil
		}
	}
	return false, fmt.Errorf("%w: item at offset %d is not a boolean", ErrCBOR, r.off)
}

// container reads an array or map head; n is -1 for indefinite length.
func (r *cborReader) container(want byte) (int, error) {
	if err := r.skipTags(); err != nil {
		return 0, err
	}
	at := r.off
	major, arg, indef, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != want {
		return 0, fmt.Errorf("%w: major type %d at offset %d, want %d", ErrCBOR, major, at, want)
	}
	if indef {
		return -1, nil
	}
	// Every element needs at least one byte (two per map pair).
	if arg > uint64(len(r.b)-r.off) {
		return 0, fmt.Errorf("%w: %d elements at offset %d exceed buffer", ErrCBOR, arg, at)
	}
	return int(arg), nil
}

// more reports whether another element follows in a container of n
// elements (n < 0: indefinite) of which i were read.
func (r *cborReader) more(n, i int) bool {
	if n >= 0 {
		return i < n
	}
	return !r.isBreak()
}

// skip reads past one data item of any type.
func (r *cborReader) skip(depth int) error {
	if depth > maxCBORDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrTooLarge, maxCBORDepth)
	}
	at := r.off
	major, arg, indef, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case cborUint, cborNegint:
		return nil
	case cborBytes, cborText:
		r.off = at
		_, err := r.str(major)
		return err
	case cborArray, cborMap:
		per := 1
		if major == cborMap {
			per = 2
		}
		if !indef && arg > uint64(len(r.b)-r.off) {
			return fmt.Errorf("%w: %d elements at offset %d exceed buffer", ErrCBOR, arg, at)
		}
		for i := 0; indef || i < int(arg); i++ {
			if indef && r.isBreak() {
				return nil
			}
			for j := 0; j < per; j++ {
				if err := r.skip(depth + 1); err != nil {
					return err
				}
			}
		}
		return nil
	case cborTag:
		return r.skip(depth + 1)
	}
	// Major 7: simple values and floats (the head consumed their bytes); a
	// lone break is an error.
	if indef {
		return fmt.Errorf("%w: unexpected break at offset %d", ErrCBOR, at)
	}
	return nil
}

// halfToFloat converts an IEEE 754 half-precision float (RFC 8949 Appendix D).
func halfToFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		return -f
	}
	return f
}

// appendCBORHead appends an initial byte with the shortest argument encoding.
func appendCBORHead(dst []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(dst, m|byte(arg))
	case arg <= math.MaxUint8:
		return append(dst, m|24, byte(arg))
	case arg <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(arg))
	case arg <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), arg)
}

// appendCBORInt appends a signed integer (major 0 or 1).
func appendCBORInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return appendCBORHead(dst, cborUint, uint64(i))
	}
	return appendCBORHead(dst, cborNegint, uint64(-1-i))
}

// appendCBORFloat appends f as a single-precision float when that is exact,
// a double otherwise.
func appendCBORFloat(dst []byte, f float64) []byte {
	if f32 := float32(f); float64(f32) == f {
		return binary.BigEndian.AppendUint32(append(dst, 0xfa), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xfb), math.Float64bits(f))
}

// appendCBORText appends a text string.
func appendCBORText(dst []byte, s string) []byte {
	return append(appendCBORHead(dst, cborText, uint64(len(s))), s...)
}
