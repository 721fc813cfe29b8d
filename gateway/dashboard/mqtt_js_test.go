package dashboard_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMQTTJSCodec runs static/mqtt.js's encoders and its packet parser in
// Node: remaining-length varints at every size boundary (MQTT 3.1.1
// §2.2.3), UTF-8 strings (§1.5.3), and a PUBLISH split across WebSocket
// frames. Skipped without node, a failure in CI.
func TestMQTTJSCodec(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node not installed")
		}
		t.Skip("node not installed")
	}
	mod, err := filepath.Abs("static/mqtt.js")
	if err != nil {
		t.Fatal(err)
	}
	script := `
import { encodeLength, decodeLength, utf8, MQTTClient } from ` + "'file://" + mod + "'" + `;
const fail = (m) => { console.log('FAIL ' + m); process.exit(1); };
const cases = [[0, [0x00]], [127, [0x7f]], [128, [0x80, 0x01]], [16383, [0xff, 0x7f]], [16384, [0x80, 0x80, 0x01]],
  [2097151, [0xff, 0xff, 0x7f]], [2097152, [0x80, 0x80, 0x80, 0x01]], [268435455, [0xff, 0xff, 0xff, 0x7f]]];
for (const [n, want] of cases) {
  const got = encodeLength(n);
  if (JSON.stringify(got) !== JSON.stringify(want)) fail('encodeLength(' + n + ') = ' + got);
  const d = decodeLength(Uint8Array.from([0x30, ...got]), 1);
  if (d.value !== n || d.size !== want.length) fail('decodeLength of ' + n + ' = ' + JSON.stringify(d));
}
try { encodeLength(268435456); fail('encodeLength above the maximum'); } catch (e) { if (e.message.startsWith('FAIL')) throw e; }
try { decodeLength(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0); fail('five length bytes accepted'); } catch (e) { if (!e.message.includes('malformed')) fail(e.message); }
if (decodeLength(Uint8Array.from([0x80]), 0) !== null) fail('incomplete length not null');
if (JSON.stringify(utf8('aé')) !== JSON.stringify([0, 3, 0x61, 0xc3, 0xa9])) fail('utf8 ' + utf8('aé'));
// A QoS 0 PUBLISH of topic "t" with a 200-byte payload, delivered in three pieces.
const c = new MQTTClient('ws://unused');
const got = [];
c.onmessage = (topic, payload, o) => got.push([topic, payload.length, o.qos, o.retain]);
const body = [0, 1, 0x74, ...new Array(200).fill(0x61)];
const pkt = Uint8Array.from([0x31, ...encodeLength(body.length), ...body]);
c.receive(pkt.subarray(0, 1)); c.receive(pkt.subarray(1, 2)); c.receive(pkt.subarray(2));
if (JSON.stringify(got) !== JSON.stringify([['t', 200, 0, true]])) fail('split PUBLISH: ' + JSON.stringify(got));
// Two packets in one frame.
c.receive(Uint8Array.from([...pkt, ...pkt]));
if (got.length !== 3) fail('two packets in one frame gave ' + got.length);
// A QoS 3 PUBLISH is a protocol error.
try { c.receive(Uint8Array.from([0x36, 3, 0, 1, 0x74])); fail('QoS 3 accepted'); } catch (e) { if (!e.message.includes('QoS 3')) fail(e.message); }
console.log('ok');
`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "--input-type=module", "-e", script).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node: %v\n%s", err, out)
	}
}
