// Package scripts holds the shell scripts that set up and drive Manifold's
// tests and measurements: the import-direction check used by `make lint`,
// certificate generation, CI services, end-to-end runners with real clients
// and benchmark comparisons with other brokers. It contains no code.
package scripts
