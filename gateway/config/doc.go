// Package config is Manifold's typed configuration: defaults, the YAML file,
// MANIFOLD_ environment overrides and validation. Key paths mirror EMQX 5's
// (listeners.tcp.default.bind, mqtt.max_inflight, authorization.sources, …)
// so that users migrating from EMQX keep their vocabulary.
//
// # How a configuration is built
//
// Load takes a file path and an environment and goes through four steps:
//
//  1. The file is parsed into a yaml.v3 node tree (a syntax error is an
//     *Error naming file and line).
//  2. Each MANIFOLD_A__B__C=value variable is applied to that tree, setting
//     key a.b.c: double underscores nest, case is ignored, a numeric segment
//     indexes a list from 1, and the value is read as the same text would be
//     in the file (42, true, 30s, [tlsv1.3, tlsv1.2]). The nodes it creates are
//     remembered so that messages can name the variable.
//  3. The tree is decoded onto Default() by a strict reflective walker (not
//     yaml.v3's decoder, which cannot report full key paths): unknown keys,
//     wrong shapes and bad values are errors of the form
//     "file:line: key.path: reason" or "MANIFOLD_VAR: key.path: reason". An
//     unknown key set by a variable is a Warning, not an error. Maps (the
//     listeners of a kind, gateways) merge with the defaults; lists replace
//     them.
//  4. Relative file paths are resolved against the file's directory
//     (Config.Dir) and Config.Validate checks the result; its errors are
//     located in the file or environment by key path.
//
// # Typed values
//
// Duration ("30s", "1h30m", "1d"), ByteSize ("64KB", "1MB"; KB = 1024 as in
// EMQX), Address (listen addresses, normalized to host:port) and LogLevel
// parse themselves. Struct tags describe the rest: range:"lo..hi" bounds,
// oneof:"a|b" enumerations, and word:"infinity" or word:"disabled" for the
// EMQX words that stand for a zero value (0 = unlimited or off). The same
// tags drive decoding messages ("expected an integer 1..65535, got "abc"")
// and Validate.
//
// # Gateways and providers
//
// Each gateway this build serves has a typed config under Config.Gateway
// (gateway.stomp: GatewayCommon's enable, mountpoint and idle_timeout, its
// listeners by type and name, and the protocol's keys). Sections that other
// packages define (a gateway name without a typed config yet, and the keys
// of an authorization source beyond type/enable/path) stay raw as Section
// values.
// Their packages call Section.Decode onto a struct holding their defaults and
// get the same strict checks and messages; Section.Origin locates the errors
// of their own validation.
//
// Defaults are written once, in Default and the SetDefaults methods;
// configs/manifold.yaml documents every key and must load to exactly
// Default() (the package's tests hold both to that).
package config
