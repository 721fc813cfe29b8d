package mqtt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestTableCoverage checks that the packet table has every packet type in
// every version where it exists, and every property at least once.
func TestTableCoverage(t *testing.T) {
	seen := map[byte]map[PacketType]bool{V31: {}, V311: {}, V5: {}}
	present := map[string]bool{}
	mark := func(p *Properties) {
		v := reflect.ValueOf(*p)
		for i := 0; i < v.NumField(); i++ {
			name := v.Type().Field(i).Name
			if has, ok := strings.CutPrefix(name, "Has"); ok {
				present[has] = present[has] || v.Field(i).Bool()
				continue
			}
			present[name] = present[name] || !v.Field(i).IsZero()
		}
	}
	for _, tc := range packetCases {
		seen[tc.version][tc.packet.Type()] = true
		if c, ok := tc.packet.(*Connect); ok {
			mark(&c.WillProperties)
		}
		if f := reflect.ValueOf(tc.packet).Elem().FieldByName("Properties"); f.IsValid() {
			p := f.Interface().(Properties)
			mark(&p)
		}
	}
	for v, types := range seen {
		for pt := TypeConnect; pt <= TypeAuth; pt++ {
			if want := pt != TypeAuth || v == V5; types[pt] != want {
				t.Errorf("version %d, %v: in table = %v, want %v", v, pt, types[pt], want)
			}
		}
	}
	if len(present) != 27 {
		t.Errorf("Properties has %d properties, want 27", len(present))
	}
	for name, ok := range present {
		if !ok {
			t.Errorf("property %s appears in no packet case", name)
		}
	}
}

// TestPropertyTable checks propSpec against MQTT 5.0 §2.2.2.2 Table 2-4,
// transcribed a second time here by packet name.
func TestPropertyTable(t *testing.T) {
	want := map[PropertyID]string{
		PropPayloadFormatIndicator:          "PUBLISH Will",
		PropMessageExpiryInterval:           "PUBLISH Will",
		PropContentType:                     "PUBLISH Will",
		PropResponseTopic:                   "PUBLISH Will",
		PropCorrelationData:                 "PUBLISH Will",
		PropSubscriptionIdentifier:          "PUBLISH SUBSCRIBE",
		PropSessionExpiryInterval:           "CONNECT CONNACK DISCONNECT",
		PropAssignedClientIdentifier:        "CONNACK",
		PropServerKeepAlive:                 "CONNACK",
		PropAuthenticationMethod:            "CONNECT CONNACK AUTH",
		PropAuthenticationData:              "CONNECT CONNACK AUTH",
		PropRequestProblemInformation:       "CONNECT",
		PropWillDelayInterval:               "Will",
		PropRequestResponseInformation:      "CONNECT",
		PropResponseInformation:             "CONNACK",
		PropServerReference:                 "CONNACK DISCONNECT",
		PropReasonString:                    "CONNACK PUBACK PUBREC PUBREL PUBCOMP SUBACK UNSUBACK DISCONNECT AUTH",
		PropReceiveMaximum:                  "CONNECT CONNACK",
		PropTopicAliasMaximum:               "CONNECT CONNACK",
		PropTopicAlias:                      "PUBLISH",
		PropMaximumQoS:                      "CONNACK",
		PropRetainAvailable:                 "CONNACK",
		PropUserProperty:                    "CONNECT CONNACK PUBLISH Will PUBACK PUBREC PUBREL PUBCOMP SUBSCRIBE SUBACK UNSUBSCRIBE UNSUBACK DISCONNECT AUTH",
		PropMaximumPacketSize:               "CONNECT CONNACK",
		PropWildcardSubscriptionAvailable:   "CONNACK",
		PropSubscriptionIdentifierAvailable: "CONNACK",
		PropSharedSubscriptionAvailable:     "CONNACK",
	}
	defined := 0
	for id := range propSpec {
		if propSpec[id].in != 0 {
			defined++
		}
	}
	if defined != len(want) {
		t.Errorf("propSpec defines %d properties, want %d", defined, len(want))
	}
	for id, where := range want {
		t.Run(id.String(), func(t *testing.T) {
			allowed := map[string]bool{}
			for _, w := range strings.Fields(where) {
				allowed[w] = true
			}
			if id.allowed(ctxWill) != allowed["Will"] {
				t.Errorf("in will properties = %v, want %v", id.allowed(ctxWill), allowed["Will"])
			}
			for pt := TypeConnect; pt <= TypeAuth; pt++ {
				if got := id.allowed(ctxOf(pt)); got != allowed[pt.String()] {
					t.Errorf("in %v = %v, want %v", pt, got, allowed[pt.String()])
				}
			}
		})
	}
	if PropertyID(0x04).String() != "unknown property" {
		t.Error("unassigned identifier has a name")
	}
}

func TestReasonCodes(t *testing.T) {
	tests := []struct {
		name string
		rc   ReasonCode
		want string
	}{
		{"success", Success, "Success"},
		{"granted QoS 1", GrantedQoS1, "Granted QoS 1"},
		{"malformed", MalformedPacket, "Malformed Packet"},
		{"too large", PacketTooLarge, "Packet too large"},
		{"wildcards", WildcardSubscriptionsNotSupported, "Wildcard Subscriptions not supported"},
		{"undefined", ReasonCode(0x03), "Reason Code 0x03"},
		{"undefined high", ReasonCode(0xFF), "Reason Code 0xFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rc.String(); got != tc.want {
				t.Errorf("String = %q, want %q", got, tc.want)
			}
			if got := tc.rc.Error(); got != "mqtt: "+tc.want {
				t.Errorf("Error = %q", got)
			}
		})
	}
	named := 0
	for _, n := range reasonNames {
		if n != "" {
			named++
		}
	}
	if named != 43 { // distinct values in MQTT 5.0 Table 2-6
		t.Errorf("%d named reason codes, want 43", named)
	}
	err := error(&Error{Code: ServerBusy, Reason: "x"})
	if !errors.Is(err, ServerBusy) || errors.Is(err, ServerUnavailable) {
		t.Error("errors.Is does not see the reason code")
	}
}

func TestV3ConnackCode(t *testing.T) {
	tests := []struct {
		name string
		in   ReasonCode
		want ReasonCode
	}{
		{"accepted", Success, ConnAccepted},
		{"raw 3.x code", ConnRefusedNotAuthorized, ConnRefusedNotAuthorized},
		{"unsupported version", UnsupportedProtocolVersion, ConnRefusedUnacceptableProtocolVersion},
		{"client id", ClientIdentifierNotValid, ConnRefusedIdentifierRejected},
		{"bad password", BadUserNameOrPassword, ConnRefusedBadUserNameOrPassword},
		{"not authorized", NotAuthorized, ConnRefusedNotAuthorized},
		{"banned", Banned, ConnRefusedNotAuthorized},
		{"busy", ServerBusy, ConnRefusedServerUnavailable},
		{"other", QuotaExceeded, ConnRefusedServerUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.V3ConnackCode(); got != tc.want {
				t.Errorf("V3ConnackCode(%v) = %#02x, want %#02x", tc.in, byte(got), byte(tc.want))
			}
		})
	}
}

func TestReasonSets(t *testing.T) {
	tests := []struct {
		name string
		t    PacketType
		rc   ReasonCode
		want bool
	}{
		{"CONNACK bad auth method", TypeConnack, BadAuthenticationMethod, true},
		{"CONNACK granted QoS 1", TypeConnack, GrantedQoS1, false},
		{"PUBACK no matching subscribers", TypePuback, NoMatchingSubscribers, true},
		{"PUBACK packet id not found", TypePuback, PacketIdentifierNotFound, false},
		{"PUBREL packet id not found", TypePubrel, PacketIdentifierNotFound, true},
		{"SUBACK granted QoS 2", TypeSuback, GrantedQoS2, true},
		{"UNSUBACK no subscription existed", TypeUnsuback, NoSubscriptionExisted, true},
		{"DISCONNECT with will", TypeDisconnect, DisconnectWithWillMessage, true},
		{"DISCONNECT session taken over", TypeDisconnect, SessionTakenOver, true},
		{"AUTH continue", TypeAuth, ContinueAuthentication, true},
		{"AUTH malformed", TypeAuth, MalformedPacket, false},
		{"PINGREQ anything", TypePingreq, Success, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rc.validFor(tc.t); got != tc.want {
				t.Errorf("validFor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPacketTypeString(t *testing.T) {
	for pt, want := range map[PacketType]string{0: "RESERVED", TypeConnect: "CONNECT", TypeUnsubscribe: "UNSUBSCRIBE", TypeAuth: "AUTH", 16: "UNKNOWN"} {
		if got := pt.String(); got != want {
			t.Errorf("PacketType(%d).String() = %q, want %q", byte(pt), got, want)
		}
	}
}
