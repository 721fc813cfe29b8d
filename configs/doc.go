// Package configs holds the files a Manifold installation reads: manifold.yaml
// (every configuration key with its default, commented), acl.conf (the default
// authorization rules in EMQX's format) and lwm2m/, the LwM2M object
// definitions gateway.lwm2m.xml_dir names. It contains no code; the Go file exists so that the folder is
// documented like every other.
package configs
