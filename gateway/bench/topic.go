package bench

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/manifold-iot/manifold/codec/mqtt"
)

// Expand fills the placeholders of a topic pattern for one client: %i is the
// client index, %c the client id (as in emqtt-bench).
func Expand(pattern string, index int, clientID string) string {
	if !strings.Contains(pattern, "%") {
		return pattern
	}
	r := strings.NewReplacer("%i", strconv.Itoa(index), "%c", clientID)
	return r.Replace(pattern)
}

// FilterFor derives the subscription filter that matches every topic a
// pattern expands to: each level holding a placeholder becomes '+'.
func FilterFor(pattern string) string {
	levels := strings.Split(pattern, "/")
	for i, l := range levels {
		if strings.Contains(l, "%i") || strings.Contains(l, "%c") {
			levels[i] = "+"
		}
	}
	return strings.Join(levels, "/")
}

// checkTopics rejects topics and filters the broker would refuse, naming the flag.
func checkTopics(c *Config) error {
	probe := Expand(c.Topic, 0, "x")
	switch c.Mode {
	case ModePub, ModePubSub:
		if !mqtt.ValidTopicName(probe) {
			return fmt.Errorf("-t: %q is not a valid topic name (no + or #)", c.Topic)
		}
	case ModeSub:
		if !validFilter(probe) {
			return fmt.Errorf("-t: %q is not a valid topic filter", c.Topic)
		}
	}
	if c.Mode == ModePubSub && !validFilter(c.SubTopic) {
		return fmt.Errorf("-sub-topic: %q is not a valid topic filter", c.SubTopic)
	}
	return nil
}

func validFilter(f string) bool {
	if _, inner, ok := mqtt.SplitShared(f); ok {
		return mqtt.ValidTopicFilter(inner)
	}
	return mqtt.ValidTopicFilter(f)
}

// shareGroup returns the share name of a shared subscription filter and the
// filter itself ("" and f when it is not shared).
func shareGroup(f string) (group, filter string) {
	if g, inner, ok := mqtt.SplitShared(f); ok {
		return g, inner
	}
	return "", f
}

// Match reports whether a topic name matches a topic filter (MQTT 5.0 §4.7):
// '+' matches one level, a trailing '#' the parent level and any below, and
// wildcards at the first level do not match topics starting with '$'
// [MQTT-4.7.2-1].
func Match(filter, name string) bool {
	if len(name) > 0 && name[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		nl, nrest, nmore := strings.Cut(name, "/")
		switch {
		case fl == "#":
			return true
		case fl != "+" && fl != nl:
			return false
		}
		if !fmore {
			return !nmore
		}
		if !nmore {
			// "a/#" matches "a" [MQTT-4.7.1-2].
			return frest == "#"
		}
		filter, name = frest, nrest
	}
}
