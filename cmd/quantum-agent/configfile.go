package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// The configuration file is TOML. Its keys are the flag names with the
// dashes turned into underscores (integration_bridge, network_vlan_ranges,
// ...), all at the top level, so every flag — including ones added later —
// is settable in the file with no further code. Flags given on the command
// line override the file.
//
// The file is read only when --config names it: the packaged unit passes
// --config /etc/quantum-agent/agent.conf. A default path read "if it
// exists" would make a hand-run agent (tests, debugging) silently pick up
// the host's settings.

// inFile tells whether a flag may be set in the file: --config and
// --version make no sense there.
func inFile(flagName string) bool { return flagName != "config" && flagName != "version" }

// fileKey is the file key of a flag.
func fileKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// fileKeys lists every key the file accepts, derived from fs.
func fileKeys(fs *flag.FlagSet) map[string]string {
	keys := map[string]string{} // key -> flag name
	fs.VisitAll(func(f *flag.Flag) {
		if inFile(f.Name) {
			keys[fileKey(f.Name)] = f.Name
		}
	})
	return keys
}

// loadConfigFile sets on fs every flag the file at path sets and the
// command line did not, and returns the names of the flags it set. Unknown
// keys and values a flag refuses are errors naming the key and the file.
func loadConfigFile(fs *flag.FlagSet, path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(raw), &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	onCmdline := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCmdline[f.Name] = true })
	keys := fileKeys(fs)
	var errs []error
	var set []string
	for _, key := range sortedKeys(doc) {
		name, ok := keys[key]
		if !ok {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q%s", path, key, suggest(key, keys)))
			continue
		}
		v, err := fileValue(doc[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("config file %s: key %s: %w", path, key, err))
			continue
		}
		if onCmdline[name] {
			continue // the flag wins
		}
		if err := fs.Set(name, v); err != nil {
			errs = append(errs, fmt.Errorf("config file %s: key %s = %q: %w", path, key, v, err))
			continue
		}
		set = append(set, name)
	}
	return set, errors.Join(errs...)
}

// fileValue turns a TOML value into the flag's text. Lists (quantum_db,
// network_vlan_ranges, the mappings) may be written as arrays of strings.
func fileValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return "", fmt.Errorf("a list may hold only strings, not %T", e)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("tables are not used: every key is at the top level")
	}
	return "", fmt.Errorf("want a string, integer, boolean or list of strings, not %T (durations are strings such as \"30s\")", v)
}

// suggest names a known key that the unknown one may be a typo of: the
// same key with dashes (the flag spelling) is the usual mistake.
func suggest(key string, keys map[string]string) string {
	if _, ok := keys[fileKey(key)]; ok {
		return fmt.Sprintf(" (did you mean %s?)", fileKey(key))
	}
	return ""
}

// settingValues is the final text of every setting by file key.
func settingValues(fs *flag.FlagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if inFile(f.Name) {
			out[fileKey(f.Name)] = f.Value.String()
		}
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
