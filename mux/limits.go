package mux

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// serverLimits is what a server showed about the channels it allows on one
// connection. It is learned from refusals and remembered across masters.
type serverLimits struct {
	// Channels is how many session channels one connection may have open
	// at once; 0 means no refusal has been seen.
	Channels int `json:"channels,omitempty"`
	// NoReuse is a server that refuses a new channel on a connection that
	// already had one, even after it closed.
	NoReuse bool      `json:"no_reuse,omitempty"`
	Learned time.Time `json:"learned"`
}

// limitStore keeps serverLimits per server ("host:port") in a JSON file.
// A missing or unreadable file is an empty store: what was learned once can
// be learned again.
type limitStore struct {
	path string // "" keeps everything in memory

	mu     sync.Mutex // guards limits
	limits map[string]serverLimits
}

func loadLimits(path string) *limitStore {
	s := &limitStore{path: path, limits: make(map[string]serverLimits)}
	if path == "" {
		return s
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return s
	}
	if err := json.Unmarshal(b, &s.limits); err != nil || s.limits == nil {
		s.limits = make(map[string]serverLimits)
	}
	return s
}

func (s *limitStore) get(server string) serverLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits[server]
}

// learn records a change for server and saves the store.
func (s *limitStore) learn(server string, change func(*serverLimits)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limits[server]
	change(&l)
	l.Learned = time.Now().UTC().Truncate(time.Second)
	s.limits[server] = l
	return s.save()
}

// save writes the file atomically: a crash leaves the old file or the new
// one, never half of one. s.mu must be held.
func (s *limitStore) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.limits, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save server limits: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".limits-*")
	if err != nil {
		return fmt.Errorf("save server limits: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save server limits: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save server limits: %w", err)
	}
	return nil
}
