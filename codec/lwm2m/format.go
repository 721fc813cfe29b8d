package lwm2m

import (
	"fmt"
	"slices"
	"strconv"
)

// ContentFormat is a CoAP Content-Format number (RFC 7252 §12.3) as LwM2M uses
// it (LwM2M 1.1 TS Core §7.4, Table 7.4-1).
type ContentFormat uint16

// The content formats this package decodes and encodes.
const (
	FormatText            ContentFormat = 0     // text/plain; charset=utf-8
	FormatLinkFormat      ContentFormat = 40    // application/link-format (RFC 6690)
	FormatOpaque          ContentFormat = 42    // application/octet-stream
	FormatSenMLJSON       ContentFormat = 110   // application/senml+json (RFC 8428)
	FormatSenMLCBOR       ContentFormat = 112   // application/senml+cbor (RFC 8428 §6)
	FormatTLVLegacy       ContentFormat = 1542  // pre-registration TLV number of LwM2M 1.0 drafts
	FormatLwM2MJSONLegacy ContentFormat = 1543  // pre-registration JSON number of LwM2M 1.0 drafts
	FormatTLV             ContentFormat = 11542 // application/vnd.oma.lwm2m+tlv
	FormatLwM2MJSON       ContentFormat = 11543 // application/vnd.oma.lwm2m+json
)

// String returns the media type of f.
func (f ContentFormat) String() string {
	switch f {
	case FormatText:
		return "text/plain"
	case FormatLinkFormat:
		return "application/link-format"
	case FormatOpaque:
		return "application/octet-stream"
	case FormatSenMLJSON:
		return "application/senml+json"
	case FormatSenMLCBOR:
		return "application/senml+cbor"
	case FormatTLV, FormatTLVLegacy:
		return "application/vnd.oma.lwm2m+tlv"
	case FormatLwM2MJSON, FormatLwM2MJSONLegacy:
		return "application/vnd.oma.lwm2m+json"
	}
	return "content-format(" + strconv.Itoa(int(f)) + ")"
}

// Decode decodes data in format f received for the request path base. The
// link format is not a value format: use DecodeLinkFormat.
func Decode(f ContentFormat, base Path, data []byte, m Model) ([]Record, error) {
	switch f {
	case FormatText:
		return DecodeText(base, data, m)
	case FormatOpaque:
		return DecodeOpaque(base, data)
	case FormatTLV, FormatTLVLegacy:
		return DecodeTLV(base, data, m)
	case FormatLwM2MJSON, FormatLwM2MJSONLegacy:
		return DecodeLwM2MJSON(base, data, m)
	case FormatSenMLJSON:
		return DecodeSenMLJSON(base, data, m)
	case FormatSenMLCBOR:
		return DecodeSenMLCBOR(base, data, m)
	}
	return nil, fmt.Errorf("%w: %d", ErrUnsupportedFormat, uint16(f))
}

// Encode appends recs in format f, for the request path base, to dst.
func Encode(f ContentFormat, dst []byte, base Path, recs []Record) ([]byte, error) {
	switch f {
	case FormatText:
		return EncodeText(dst, base, recs)
	case FormatOpaque:
		return EncodeOpaque(dst, base, recs)
	case FormatTLV, FormatTLVLegacy:
		return EncodeTLV(dst, base, recs)
	case FormatLwM2MJSON, FormatLwM2MJSONLegacy:
		return EncodeLwM2MJSON(dst, base, recs)
	case FormatSenMLJSON:
		return EncodeSenMLJSON(dst, base, recs)
	case FormatSenMLCBOR:
		return EncodeSenMLCBOR(dst, base, recs)
	}
	return dst, fmt.Errorf("%w: %d", ErrUnsupportedFormat, uint16(f))
}

// SortRecords sorts recs by path (stable, so timestamped values of one path
// keep their order), which gives EncodeTLV one Object Instance TLV per
// instance and one Multiple Resource TLV per resource.
func SortRecords(recs []Record) {
	slices.SortStableFunc(recs, func(a, b Record) int {
		switch {
		case a.Path.Less(b.Path):
			return -1
		case b.Path.Less(a.Path):
			return 1
		}
		return 0
	})
}
