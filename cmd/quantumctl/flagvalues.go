package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Flag values whose parse errors say what was expected: pflag wraps them as
// `invalid argument "5" for "--timeout" flag: want a duration like 5s`.

// durationValue is a time.Duration flag.
type durationValue time.Duration

func durationFlag(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration like 5s, 1m30s or 500ms")
	}
	if v <= 0 {
		return errors.New("want a positive duration like 5s")
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Type() string   { return "duration" }

// countValue is a non-negative whole number flag (0 is the "unset" default).
type countValue int

func (n *countValue) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return errors.New("want a whole number like 101")
	}
	*n = countValue(v)
	return nil
}

func (n *countValue) String() string { return strconv.Itoa(int(*n)) }
func (n *countValue) Type() string   { return "number" }

// choiceValue accepts one of a fixed list of words in any case and keeps
// the canonical spelling; the list doubles as the flag's completions.
type choiceValue struct {
	v       *string
	choices []string
}

func choiceFlag(fs *pflag.FlagSet, p *string, name, short, value string, choices []string, usage string) *pflag.Flag {
	*p = value
	fs.VarP(&choiceValue{v: p, choices: choices}, name, short, usage)
	return fs.Lookup(name)
}

func (c *choiceValue) Set(s string) error {
	for _, ch := range c.choices {
		if strings.EqualFold(s, ch) {
			*c.v = ch
			return nil
		}
	}
	return fmt.Errorf("want %s", orList(c.choices))
}

func (c *choiceValue) String() string { return *c.v }
func (c *choiceValue) Type() string   { return "string" }

// orList is "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// filterFlag collects repeated --filter key=value into list filters.
type filterFlag map[string]string

func (f filterFlag) String() string { return "" }
func (f filterFlag) Type() string   { return "key=value" }

func (f filterFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	f[k] = val
	return nil
}
