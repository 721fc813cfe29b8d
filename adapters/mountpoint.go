package adapters

import (
	"strings"

	"github.com/manifold-iot/manifold/core"
)

// ExpandMountpoint fills a mountpoint template's placeholders for one client:
// ${clientid} and ${username} (EMQX's gateway and listener mountpoints).
// Adapters call it once, at connect, and keep the result in
// core.ClientInfo.Mountpoint.
func ExpandMountpoint(tmpl string, ci *core.ClientInfo) string {
	if !strings.Contains(tmpl, "${") {
		return tmpl
	}
	return strings.NewReplacer("${clientid}", ci.ClientID, "${username}", ci.Username).Replace(tmpl)
}

// Mount puts a topic name the client used under its mountpoint.
func Mount(mountpoint, topic string) string {
	if mountpoint == "" {
		return topic
	}
	return mountpoint + topic
}

// MountFilter puts a topic filter under the mountpoint. A shared
// subscription keeps its $share/<group>/ (or $queue/) prefix in front, as
// EMQX does: the mountpoint applies to the filter it shares.
func MountFilter(mountpoint, filter string) string {
	if mountpoint == "" {
		return filter
	}
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			return "$share/" + rest[:i+1] + mountpoint + rest[i+1:]
		}
		return filter // malformed: the broker refuses it
	}
	if rest, ok := strings.CutPrefix(filter, "$queue/"); ok {
		return "$queue/" + mountpoint + rest
	}
	return mountpoint + filter
}

// Unmount gives back the topic name as the client knows it, without the
// mountpoint. A topic outside the mountpoint (it cannot match a mounted
// subscription, but a retained or rewritten one might) is returned whole.
func Unmount(mountpoint, topic string) string {
	if mountpoint == "" {
		return topic
	}
	if rest, ok := strings.CutPrefix(topic, mountpoint); ok {
		return rest
	}
	return topic
}
