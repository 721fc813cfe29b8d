package adapters

import (
	"testing"

	"github.com/manifold-iot/manifold/core"
)

func TestMountpoint(t *testing.T) {
	ci := &core.ClientInfo{ClientID: "c1", Username: "alice"}
	tests := []struct {
		name, tmpl, mp        string
		topic, mounted        string
		filter, mountedFilter string
	}{
		{"none", "", "", "a/b", "a/b", "a/#", "a/#"},
		{"fixed", "stomp/", "stomp/", "a/b", "stomp/a/b", "+/x", "stomp/+/x"},
		{"placeholders", "u/${username}/${clientid}/", "u/alice/c1/", "t", "u/alice/c1/t", "#", "u/alice/c1/#"},
		{"shared", "m/", "m/", "t", "m/t", "$share/g/a/+", "$share/g/m/a/+"},
		{"queue", "m/", "m/", "t", "m/t", "$queue/a", "$queue/m/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := ExpandMountpoint(tc.tmpl, ci)
			if mp != tc.mp {
				t.Fatalf("ExpandMountpoint = %q, want %q", mp, tc.mp)
			}
			if got := Mount(mp, tc.topic); got != tc.mounted {
				t.Errorf("Mount = %q, want %q", got, tc.mounted)
			}
			if got := Unmount(mp, tc.mounted); got != tc.topic {
				t.Errorf("Unmount = %q, want %q", got, tc.topic)
			}
			if got := MountFilter(mp, tc.filter); got != tc.mountedFilter {
				t.Errorf("MountFilter = %q, want %q", got, tc.mountedFilter)
			}
		})
	}
	if got := Unmount("m/", "other/t"); got != "other/t" {
		t.Errorf("Unmount outside the mountpoint = %q", got)
	}
}
