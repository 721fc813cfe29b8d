package store

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/manifold-iot/manifold/core"
)

var ts = time.Unix(1_700_000_000, 987_654_321)

func fullMessage() *core.Message {
	return &core.Message{
		ID:              1<<63 + 5,
		Topic:           "a/b/c",
		Payload:         []byte("hello"),
		QoS:             core.QoS2,
		Retain:          true,
		From:            "client-1",
		Timestamp:       ts,
		PayloadFormat:   1,
		ExpiryInterval:  90 * time.Second,
		ContentType:     "application/json",
		ResponseTopic:   "reply/to",
		CorrelationData: []byte{0, 1, 2},
		UserProperties:  []core.UserProperty{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}, {Key: "", Value: ""}},
	}
}

// equalMessage compares messages field by field, timestamps with Equal.
func equalMessage(a, b *core.Message) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	if !x.Timestamp.Equal(y.Timestamp) {
		return false
	}
	x.Timestamp, y.Timestamp = time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    *core.Message
	}{
		{"every_field", fullMessage()},
		{"minimal", &core.Message{Topic: "t"}},
		{"empty_correlation_data_kept", &core.Message{Topic: "t", CorrelationData: []byte{}}},
		{"qos1_no_timestamp", &core.Message{ID: 1, Topic: "t", QoS: core.QoS1, Payload: bytes.Repeat([]byte{0xff}, 1000)}},
		{"negative_expiry_and_old_time", &core.Message{Topic: "t", ExpiryInterval: -1, Timestamp: time.Unix(-5, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendMessage([]byte("prefix"), tc.m)
			if string(b[:6]) != "prefix" {
				t.Fatalf("AppendMessage overwrote dst")
			}
			got, err := DecodeMessage(b[6:])
			if err != nil {
				t.Fatalf("DecodeMessage: %v", err)
			}
			if !equalMessage(got, tc.m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.m)
			}
		})
	}
}

// TestDecodeCopies checks decoded fields do not alias the input (Pebble
// reuses its buffers).
func TestDecodeCopies(t *testing.T) {
	b := AppendMessage(nil, fullMessage())
	m, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xAA
	}
	if !equalMessage(m, fullMessage()) {
		t.Fatalf("decoded message changed with its input: %+v", m)
	}
}

func TestDecodeMessageMalformed(t *testing.T) {
	good := AppendMessage(nil, fullMessage())
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown_version", append([]byte{9}, good[1:]...)},
		{"unknown_flags", append([]byte{1, 0x80}, good[2:]...)},
		{"qos3", append([]byte{1, 0x03}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing_bytes", append(append([]byte(nil), good...), 0)},
		{"topic_longer_than_input", []byte{1, 0, 1, 0xff, 0x01, 'a'}},
		{"bad_varint", []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"huge_property_count", append(AppendMessage(nil, &core.Message{Topic: "t"})[:len(AppendMessage(nil, &core.Message{Topic: "t"}))-1], 0xff, 0xff, 0xff, 0x7f)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeMessage(tc.b)
			if !errors.Is(err, ErrMalformed) || m != nil {
				t.Fatalf("DecodeMessage = %v, %v; want ErrMalformed", m, err)
			}
		})
	}
}

func TestEntryRoundTrip(t *testing.T) {
	m := fullMessage()
	tests := []struct {
		name   string
		e      Entry
		want   Entry // Seq is not encoded
		bodyID uint64
	}{
		{"inline", Entry{Seq: 9, Msg: m, QoS: core.QoS1, Retain: true, SubIDs: []uint32{1, 1<<32 - 1}, Shared: "$share/g/t"},
			Entry{Msg: m, QoS: core.QoS1, Retain: true, SubIDs: []uint32{1, 1<<32 - 1}, Shared: "$share/g/t"}, 0},
		{"shared_body", Entry{Msg: m, QoS: core.QoS2, SharedBody: true, PacketID: 513, Phase: PhaseRec},
			Entry{QoS: core.QoS2, SharedBody: true, PacketID: 513, Phase: PhaseRec}, m.ID},
		{"comp_has_no_body", Entry{Msg: m, QoS: core.QoS2, SharedBody: true, PacketID: 65535, Phase: PhaseComp},
			Entry{QoS: core.QoS2, PacketID: 65535, Phase: PhaseComp}, 0},
		{"no_message", Entry{QoS: core.QoS0}, Entry{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendEntry(nil, &tc.e)
			got, id, err := DecodeEntry(b)
			if err != nil {
				t.Fatalf("DecodeEntry: %v", err)
			}
			if id != tc.bodyID || !equalMessage(got.Msg, tc.want.Msg) {
				t.Fatalf("body id %d msg %+v, want %d %+v", id, got.Msg, tc.bodyID, tc.want.Msg)
			}
			got.Msg, tc.want.Msg = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("entry\n got %+v\nwant %+v", got, tc.want)
			}
			shared, rid, err := EntryBodyRef(b)
			if err != nil || shared != tc.want.SharedBody || rid != tc.bodyID {
				t.Fatalf("EntryBodyRef = %v %d %v", shared, rid, err)
			}
		})
	}
}

func TestDecodeEntryMalformed(t *testing.T) {
	good := AppendEntry(nil, &Entry{Msg: fullMessage(), SubIDs: []uint32{3}})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown_version", append([]byte{2}, good[1:]...)},
		{"both_body_flags", []byte{1, 0x06, 0, 0, 0, 0, 0, 0}},
		{"qos3", []byte{1, 0, 3, 0, 0, 0, 0, 0}},
		{"phase3", []byte{1, 0, 0, 3, 0, 0, 0, 0}},
		{"subid_over_32_bits", []byte{1, 0, 0, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0}},
		{"subid_count_past_end", []byte{1, 0, 0, 0, 0, 0, 100, 1}},
		{"shared_body_id_truncated", []byte{1, 0x02, 0, 0, 0, 0, 0, 0, 1, 2, 3}},
		{"truncated_inline", good[:len(good)-2]},
		{"trailing", append(append([]byte(nil), good...), 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := DecodeEntry(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeEntry: %v, want ErrMalformed", err)
			}
		})
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	r := SessionRecord{Username: "u", Proto: "mqtt", Expiry: time.Hour, DisconnectedAt: ts}
	got, err := DecodeSessionRecord(AppendSessionRecord(nil, &r))
	if err != nil || got.Username != "u" || got.Proto != "mqtt" || got.Expiry != time.Hour || !got.DisconnectedAt.Equal(ts) {
		t.Fatalf("session record = %+v, %v", got, err)
	}
	got, err = DecodeSessionRecord(AppendSessionRecord(nil, &SessionRecord{}))
	if err != nil || !got.DisconnectedAt.IsZero() {
		t.Fatalf("zero session record = %+v, %v", got, err)
	}
	o := core.SubOptions{QoS: core.QoS2, NoLocal: true, RetainAsPublished: true, RetainHandling: 1, SubscriptionID: 268435455}
	if got, err := DecodeSubOptions(AppendSubOptions(nil, o)); err != nil || got != o {
		t.Fatalf("sub options = %+v, %v", got, err)
	}
	if got, err := DecodeTime(AppendTime(nil, ts)); err != nil || !got.Equal(ts) {
		t.Fatalf("time = %v, %v", got, err)
	}
	for _, b := range [][]byte{nil, {2}, {1, 3, 0, 0, 0}, {1, 0, 4, 0, 0}, {1, 0, 0, 3, 0}, {1, 0, 0, 0, 0, 0}} {
		if _, err := DecodeSubOptions(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeSubOptions(%v): %v, want ErrMalformed", b, err)
		}
	}
	for _, b := range [][]byte{nil, {2}, {1, 5, 'a'}, append(AppendSessionRecord(nil, &r), 0)} {
		if _, err := DecodeSessionRecord(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeSessionRecord(%v): %v, want ErrMalformed", b, err)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(AppendMessage(nil, fullMessage()))
	f.Add(AppendMessage(nil, &core.Message{Topic: "t"}))
	f.Add([]byte{1, 0x1f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// What decodes re-encodes to a value that decodes the same.
		again, err := DecodeMessage(AppendMessage(nil, m))
		if err != nil || !equalMessage(again, m) {
			t.Fatalf("re-encoding %+v: %+v, %v", m, again, err)
		}
	})
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(AppendEntry(nil, &Entry{Msg: fullMessage(), SubIDs: []uint32{1, 2}, Shared: "g"}))
	f.Add(AppendEntry(nil, &Entry{Msg: fullMessage(), SharedBody: true, Phase: PhaseRec, PacketID: 7}))
	f.Add(AppendEntry(nil, &Entry{Phase: PhaseComp}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, id, err := DecodeEntry(b)
		shared, rid, rerr := EntryBodyRef(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if rerr != nil || shared != e.SharedBody || rid != id {
			t.Fatalf("EntryBodyRef = %v %d %v, DecodeEntry said %v %d", shared, rid, rerr, e.SharedBody, id)
		}
		if e.SharedBody {
			e.Msg = &core.Message{ID: id}
		}
		e2, id2, err := DecodeEntry(AppendEntry(nil, &e))
		if err != nil || id2 != id || e2.SharedBody != e.SharedBody || e2.PacketID != e.PacketID || e2.Phase != e.Phase {
			t.Fatalf("re-encoding %+v: %+v %d %v", e, e2, id2, err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendSessionRecord(nil, &SessionRecord{Username: "u", Proto: "mqtt", Expiry: time.Hour, DisconnectedAt: ts}))
	f.Add(AppendSubOptions(nil, core.SubOptions{QoS: 1, SubscriptionID: 5}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeSessionRecord(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeSessionRecord: %v", err)
		}
		if _, err := DecodeSubOptions(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeSubOptions: %v", err)
		}
		if _, err := DecodeTime(b); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeTime: %v", err)
		}
	})
}
