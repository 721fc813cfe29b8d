// Package lwm2m is Manifold's LwM2M payload codec: it turns the content formats
// of LwM2M 1.0.2 and 1.1 (LwM2M 1.1 TS Core §7.4) into a common in-memory model
// and back. Like every Manifold codec it does no I/O, no logging, imports
// nothing else from Manifold and never panics on any input (a FuzzDecode<Format>
// target per format checks this, with a decode∘encode round trip).
//
// # Model
//
// A Path is "/", "/o", "/o/i", "/o/i/r" or "/o/i/r/ri" (LwM2M 1.1 TS Core §6.1,
// ids 0..65534). A Record is a full path with a typed Value (String, Integer,
// Unsigned Integer, Float, Boolean, Opaque, Time, Objlnk, Corelnk, or none) and
// an optional SenML timestamp. Every decoder returns []Record in wire order;
// every encoder takes []Record and the request path it answers. Payloads are
// whole CoAP message bodies (CoAP frames them, Block2 reassembles them), so
// unlike the stream codecs these decoders never return codec.ErrIncomplete:
// a short payload is malformed.
//
// TLV, text/plain and the numbers of the JSON formats carry no type on the
// wire, so decoders take a Model (ResourceType(obj, res)) that the object
// registry in lwm2m/objects implements; the codec itself knows no objects.
// Without a model TLV values decode as Opaque, text as String and JSON numbers
// as Integer, Unsigned Integer or Float by their form.
//
// # Formats
//
//	 0     text/plain                     DecodeText, EncodeText (§7.4.1)
//	42     application/octet-stream       DecodeOpaque, EncodeOpaque (§7.4.2)
//	11542  application/vnd.oma.lwm2m+tlv  DecodeTLV, EncodeTLV (§7.4.3); also 1542
//	11543  application/vnd.oma.lwm2m+json DecodeLwM2MJSON, EncodeLwM2MJSON (LwM2M 1.0.2 §6.4.4); also 1543
//	110    application/senml+json         DecodeSenMLJSON, EncodeSenMLJSON (RFC 8428 §5, §7.4.5)
//	112    application/senml+cbor         DecodeSenMLCBOR, EncodeSenMLCBOR (RFC 8428 §6, §7.4.5)
//	40     application/link-format        DecodeLinkFormat, EncodeLinkFormat (RFC 6690)
//
// Decode and Encode dispatch on a ContentFormat. TLV handles nested Object
// Instance, Multiple Resource and Resource Instance entries for every request
// depth. SenML resolves base name, base time and base value (RFC 8428 §4.5),
// rejects must-understand fields (§4.4) and knows LwM2M's "vlo" field for
// Objlnk. The SenML CBOR reader is a small RFC 8949 subset written here
// (integers, strings, arrays, maps, tags, simple values and floats, definite
// and indefinite lengths); no CBOR module is used. ParseRegistration reads the
// object list of a Register or Update payload (LwM2M 1.1 TS Core §6.2.1).
//
// # MQTT mapping
//
// Content turns records into the "content":[{"path","value"}] array of the
// gateway's read, observe and notify messages (EMQX 5's JSON shape), and
// Value.MarshalJSON gives each value its JSON form. ParseWrite turns the
// "data" of a write command ({"path","type","value"} or
// {"basePath","content":[…]}) into a request path and typed records, ready for
// Encode in the format the client accepts.
//
// # Errors and limits
//
// Errors wrap package-prefixed sentinels with context
// ("lwm2m: tlv: length exceeds buffer: resource 0 at offset 0 declares 20
// bytes, 2 left"); check them with errors.Is. A decode holds at most
// MaxRecords records and MaxLinks links, CBOR nests at most 16 deep, every
// length is checked against the buffer before it is used, and decoded values
// never alias the input buffer.
package lwm2m
