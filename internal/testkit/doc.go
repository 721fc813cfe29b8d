// Package testkit holds small helpers shared by the module's tests, such as
// the bounded poll that stands in for sleeps as synchronisation.
//
// It is for tests only: import it from _test.go files, never from
// production code (it imports testing).
package testkit
