package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// snRegistryDir is where the MQTT-SN topic-id registries live under
// node.data_dir.
const snRegistryDir = "mqttsn-registry"

// maxRegistryFile bounds a registry file read back (max_topics names of at
// most 64 KiB each would be far less; this stops a corrupt file).
const maxRegistryFile = 64 << 20

// fileRegistryStore is sn.RegistryStore over one JSON file per client id
// in a directory: written whole to a temporary file and renamed over the
// old one, so a crash leaves the old or the new registry, never half of
// one. File names are the client id with every byte outside [A-Za-z0-9_-]
// escaped as %XX, or "h-" and the id's SHA-256 when that is too long; the
// file records the id, which Load checks.
type fileRegistryStore struct {
	dir string
}

// newFileRegistryStore creates dir if needed.
func newFileRegistryStore(dir string) (*fileRegistryStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("node.data_dir: cannot create %s: %w", dir, err)
	}
	return &fileRegistryStore{dir: dir}, nil
}

// registryFile is a registry file's content.
type registryFile struct {
	ClientID string            `json:"clientid"`
	Topics   map[string]string `json:"topics"` // topic id (decimal) → topic name
}

// fileName is the file of clientID's registry.
func (s *fileRegistryStore) fileName(clientID string) string {
	var b strings.Builder
	for i := 0; i < len(clientID); i++ {
		c := clientID[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	name := b.String()
	if len(name) > 200 || name == "" {
		sum := sha256.Sum256([]byte(clientID))
		name = "h-" + hex.EncodeToString(sum[:])
	}
	return filepath.Join(s.dir, name+".json")
}

// Load implements sn.RegistryStore: an unknown client has an empty registry.
func (s *fileRegistryStore) Load(clientID string) (map[uint16]string, error) {
	p := s.fileName(clientID)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck
	var rf registryFile
	dec := json.NewDecoder(io.LimitReader(f, maxRegistryFile)) // an oversized file ends in truncated JSON: an error
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if rf.ClientID != clientID {
		return nil, nil // a hash collision or a foreign file: no registry
	}
	out := make(map[uint16]string, len(rf.Topics))
	for k, v := range rf.Topics {
		id, err := strconv.ParseUint(k, 10, 16)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%s: bad topic id %q", p, k)
		}
		out[uint16(id)] = v
	}
	return out, nil
}

// Save implements sn.RegistryStore.
func (s *fileRegistryStore) Save(clientID string, topics map[uint16]string) error {
	rf := registryFile{ClientID: clientID, Topics: make(map[string]string, len(topics))}
	for id, name := range topics {
		rf.Topics[strconv.Itoa(int(id))] = name
	}
	data, err := json.Marshal(rf)
	if err != nil {
		return err
	}
	p := s.fileName(clientID)
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Delete implements sn.RegistryStore.
func (s *fileRegistryStore) Delete(clientID string) error {
	err := os.Remove(s.fileName(clientID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
