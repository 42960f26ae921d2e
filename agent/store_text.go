package agent

import (
	"strings"
	"unicode/utf8"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// checkText is the last line of defence before a transaction leaves for the
// Quantum DB: ovsdb-server answers a NUL in any string by dropping the whole
// connection ("null bytes not supported in quoted strings"), failing every
// transaction in flight on it, other clients' included; and it cannot store
// invalid UTF-8. api/ refuses such text with a fault naming the field; this
// catches any path that missed it, for every caller of the store.
func checkText(ops []ovsdb.Operation) error {
	for _, op := range ops {
		for col, v := range op.Row {
			if err := checkValue(op.Table, col, v); err != nil {
				return err
			}
		}
		for _, c := range op.Where {
			if err := checkValue(op.Table, c.Column, c.Value); err != nil {
				return err
			}
		}
		for _, m := range op.Mutations {
			if err := checkValue(op.Table, m.Column, m.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkValue(table, column string, v any) error {
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 || !utf8.ValidString(x) {
			return newError(KindMalformed, nil, "%s %s: text with a NUL byte or invalid UTF-8 is not accepted",
				strings.ToLower(table), strings.ReplaceAll(column, "_", " "))
		}
	case ovsdb.OvsSet:
		for _, e := range x.GoSet {
			if err := checkValue(table, column, e); err != nil {
				return err
			}
		}
	case ovsdb.OvsMap:
		for k, e := range x.GoMap {
			if err := checkValue(table, column, k); err != nil {
				return err
			}
			if err := checkValue(table, column, e); err != nil {
				return err
			}
		}
	}
	return nil
}
