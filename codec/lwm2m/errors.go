package lwm2m

import "errors"

// Sentinel errors. Every error a decoder or encoder returns wraps one of these
// with context (the format, the path, the byte offset), so callers check them
// with errors.Is and log the full message.
var (
	// ErrInvalidPath reports a malformed LwM2M path: not "/", not 1 to 4
	// decimal ids, or an id above MaxID (LwM2M 1.1 TS Core §6.1, 65535 is reserved).
	ErrInvalidPath = errors.New("lwm2m: invalid path")
	// ErrPathMismatch reports an entry whose path is not under the request
	// path it was decoded or encoded against.
	ErrPathMismatch = errors.New("lwm2m: path outside the request path")
	// ErrInvalidValue reports a value that does not fit its type: a TLV
	// integer of 3 bytes, a boolean "2", a non-integral number for an Integer
	// resource, a float that JSON cannot carry.
	ErrInvalidValue = errors.New("lwm2m: invalid value")
	// ErrUnsupportedFormat reports a content format this package does not
	// decode or encode.
	ErrUnsupportedFormat = errors.New("lwm2m: unsupported content format")
	// ErrTLVTruncated reports a TLV header or length that runs past the end of
	// the buffer (LwM2M 1.1 TS Core §7.4.3).
	ErrTLVTruncated = errors.New("lwm2m: tlv: length exceeds buffer")
	// ErrTLVStructure reports a TLV entry where the request path does not
	// allow one: an Object Instance inside a Resource, a Resource Instance at
	// the top of an Object Instance read.
	ErrTLVStructure = errors.New("lwm2m: tlv: unexpected entry")
	// ErrJSON reports a malformed LwM2M JSON or SenML JSON document.
	ErrJSON = errors.New("lwm2m: json: malformed")
	// ErrSenML reports a SenML pack that is well-formed JSON or CBOR but breaks
	// RFC 8428: an unknown must-understand field, an unsupported version, a
	// record with two values or a name that is not an LwM2M path.
	ErrSenML = errors.New("lwm2m: senml: invalid record")
	// ErrCBOR reports malformed or unsupported CBOR (RFC 8949) in a SenML CBOR
	// payload.
	ErrCBOR = errors.New("lwm2m: cbor: malformed")
	// ErrLinkFormat reports a malformed CoRE Link Format document (RFC 6690 §2).
	ErrLinkFormat = errors.New("lwm2m: link format: malformed")
	// ErrTooLarge reports a payload that exceeds one of the package limits
	// (MaxRecords, MaxLinks, the CBOR nesting depth).
	ErrTooLarge = errors.New("lwm2m: payload exceeds limits")
	// ErrWriteCommand reports a malformed MQTT write command (the "data"
	// object of a {"msgType":"write"} message).
	ErrWriteCommand = errors.New("lwm2m: invalid write command")
)

// Limits that bound the work and memory of every decoder whatever the input.
const (
	// MaxRecords is the most entries a single payload may decode to.
	MaxRecords = 4096
	// MaxLinks is the most links a CoRE Link Format document may hold.
	MaxLinks = 4096
	// maxCBORDepth bounds CBOR nesting (SenML needs 2: array of maps).
	maxCBORDepth = 16
)
