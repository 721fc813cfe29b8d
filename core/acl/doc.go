// Package acl is the file source of authorization: it reads an acl.conf
// written in EMQX's format (so EMQX users bring their rules unchanged) and
// decides, for a client, an action and a topic, whether the file allows it,
// denies it, or has no rule for it.
//
// # Data flow
//
// LoadFile (or Parse) reads the file once: a small reader turns the Erlang
// terms into a tree, and each term is compiled into a Rule. Everything costly
// happens there: regular expressions are compiled, IP addresses and CIDRs
// parsed, topic filters validated, and the filters that hold placeholders are
// split into literal and placeholder segments. The File is then immutable and
// File.Check, called by the authorization hook for every publish and
// subscribe it does not have cached, walks the rules in order and returns the
// permission of the first that matches (Allow or Deny) or NoMatch, after
// which the next authorization source, or authorization.no_match, decides.
//
// # Syntax
//
// The file is a sequence of Erlang terms, each ended by a full stop. A `%`
// starts a comment that runs to the end of the line. Terms are atoms (allow,
// deny, all, ..., or quoted: 'and', 'or'), strings in double quotes with
// Erlang's escapes (\n, \t, \\, \", \xHH, \x{H...}, octal \ooo; any other
// escaped character is itself, so a regex dot is written "\\."), binaries of
// strings (<<"text">>), decimal integers, lists [...] and tuples {...}.
// Adjacent strings are joined. Two leniencies over Erlang: 'and' and 'or' may
// be written unquoted, and a full stop needs no white space after it. A rule
// is one of:
//
//	{Permission, Who, Action, Topics}.
//	{Permission, all}.                    % every client, action and topic
//
//	Permission: allow | deny
//	Who:        all
//	            | {username, "u"} | {user, "u"} | {username, {re, "regex"}}
//	            | {clientid, "c"} | {client, "c"} | {clientid, {re, "regex"}}
//	            | {ipaddr, "127.0.0.1"} | {ipaddr, "10.0.0.0/8"} | {ipaddr, "::1"}
//	            | {ipaddrs, ["10.0.0.0/8", "fd00::/8", ...]}
//	            | {'and', [Who, ...]} | {'or', [Who, ...]}
//	Action:     publish | subscribe | all
//	            | {publish, [{qos, 0 | [0, 1, ...]}, {retain, true | false | all}]}
//	            | {subscribe, [{qos, ...}]} | {all, [{qos, ...}, {retain, ...}]}
//	Topics:     [Topic, ...]
//	Topic:      "filter" | {eq, "filter"} | "eq filter"
//
// Regular expressions are Go's (RE2) and match anywhere in the value unless
// anchored (^...$), like EMQX's re:run; PCRE-only constructs such as
// look-ahead are rejected when the file is loaded. An empty username or client
// id is an absent one and matches no username or clientid condition. The
// client's address is ClientInfo.Peer with IPv4-mapped IPv6 unmapped; a client
// without an address matches no ipaddr condition. A qos option narrows the
// QoS levels the rule applies to (publish QoS, or the QoS asked for in
// subscribe); retain narrows publish checks only.
//
// A topic filter may hold placeholders, replaced by the client's own values at
// check time: ${clientid} and ${username} anywhere, and EMQX 4's %c and %u when
// they are a whole level. A filter whose placeholder has no value for the
// client (an empty username) matches nothing for that client, and so does one
// whose value would add a wildcard level (a client id of "+" or "a/#"). An
// {eq, F} topic matches only the identical string F: no wildcards and no
// placeholders.
//
// Some forms EMQX would load are refused here because they can never match or
// are almost surely typos: empty topic, qos, ipaddrs, 'and' and 'or' lists,
// retain on subscribe, a repeated retain option, and ${...} placeholders other
// than the two above. Topic filters must be valid MQTT filters.
//
// Errors give the file, line and column, and what was expected:
//
//	acl.conf:12:5: expected ',' or '}', got atom publish
//	acl.conf:3:2: unknown who {usr, "a"}: expected all, {username, ...}, ...
//
// # Matching
//
// Rules are tried from the top and the first whose action, Who and topics all
// match decides, as in EMQX. For publish, the topic name is matched against
// each rule filter. For subscribe, the client's filter is treated as a name
// and matched against each rule filter, so rule a/# covers subscriptions a/+,
// a/b/# and a/#, and rule # covers #. An allow rule must also cover every
// topic the subscription can receive: rule a/+ does not allow a/# (its last
// level would match "#" as a name) and rule a/+/# does not allow a/# (which
// also receives a). EMQX lets both through; here they fall to the next rule.
// A deny rule keeps the looser name match, which denies more. A shared
// subscription ($share/g/t,
// $queue/t) is checked as its real filter t. Rule wildcards match $-topics as
// well (EMQX compares levels directly): rule # covers $SYS/x, and rule
// $SYS/# covers the subscription $SYS/brokers/+/uptime.
package acl
