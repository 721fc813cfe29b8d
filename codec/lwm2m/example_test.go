package lwm2m_test

import (
	"encoding/json"
	"fmt"

	"github.com/manifold-iot/manifold/codec/lwm2m"
)

// deviceModel stands in for the object registry (lwm2m/objects.Registry).
var deviceModel = lwm2m.ModelFunc(func(obj, res uint16) (lwm2m.Type, bool) {
	switch {
	case obj == 3 && res == 0:
		return lwm2m.TypeString, true
	case obj == 3 && (res == 9 || res == 7):
		return lwm2m.TypeInteger, true
	case obj == 1 && res == 1:
		return lwm2m.TypeInteger, true
	}
	return lwm2m.TypeNone, false
})

// A Read /3/0 answered in TLV becomes the content of an MQTT response.
func ExampleDecodeTLV() {
	payload := []byte{0xC3, 0x00, 'A', 'C', 'M', 0xC1, 0x09, 0x64, 0x88, 0x07, 0x08, 0x42, 0x00, 0x0E, 0xD8, 0x42, 0x01, 0x13, 0x88}
	recs, err := lwm2m.DecodeTLV(lwm2m.InstancePath(3, 0), payload, deviceModel)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := json.Marshal(lwm2m.NewResponse(lwm2m.InstancePath(3, 0), 0x45, lwm2m.Content(recs)))
	fmt.Println(string(out))
	// Output:
	// {"reqPath":"/3/0","code":"2.05","codeMsg":"content","content":[{"path":"/3/0/0","value":"ACM"},{"path":"/3/0/9","value":100},{"path":"/3/0/7/0","value":3800},{"path":"/3/0/7/1","value":5000}]}
}

// An MQTT write command becomes a SenML JSON payload for a LwM2M 1.1 client.
func ExampleParseWrite() {
	base, recs, err := lwm2m.ParseWrite([]byte(`{"path":"/1/0/1","value":300}`), deviceModel)
	if err != nil {
		fmt.Println(err)
		return
	}
	payload, _ := lwm2m.Encode(lwm2m.FormatSenMLJSON, nil, base, recs)
	fmt.Println(string(payload))
	// Output:
	// [{"n":"/1/0/1","v":300}]
}

// Malformed input yields a wrapped sentinel error, never a panic.
func ExampleDecodeTLV_error() {
	_, err := lwm2m.DecodeTLV(lwm2m.InstancePath(3, 0), []byte{0xC8, 0x00, 0x14, 'A'}, nil)
	fmt.Println(err)
	// Output:
	// lwm2m: tlv: length exceeds buffer: resource 0 at offset 0 declares 20 bytes, 1 left
}
