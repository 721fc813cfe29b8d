package lwm2m

import "testing"

// benchRecords is a Read /3/0 of the Device object: the payload Wakaama and
// most clients send first and every gateway decodes on registration.
func benchRecords(b *testing.B) (Path, []Record) {
	return InstancePath(3, 0), deviceRecords(b)
}

func BenchmarkDecode(b *testing.B) {
	base, recs := benchRecords(b)
	for _, f := range []ContentFormat{FormatTLV, FormatSenMLJSON, FormatSenMLCBOR, FormatLwM2MJSON} {
		data, err := Encode(f, nil, base, recs)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.String(), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(f, base, data, testModel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	base, recs := benchRecords(b)
	for _, f := range []ContentFormat{FormatTLV, FormatSenMLJSON, FormatSenMLCBOR, FormatLwM2MJSON} {
		buf, err := Encode(f, nil, base, recs)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.String(), func(b *testing.B) {
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = Encode(f, buf[:0], base, recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
