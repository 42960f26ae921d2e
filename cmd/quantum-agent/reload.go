package main

import (
	"io"
	"log/slog"
)

// liveKeys are the settings SIGHUP applies without a restart; every other
// change is logged as waiting for one.
func liveKey(key string) bool { return key == "log_level" || key == "libovsdb_log_level" }

// reload reads the command line and the configuration file again (SIGHUP).
// A file that does not parse or validate changes nothing. Otherwise the log
// levels change at once, and each other changed key is logged by name as
// needing a restart: the agent does not half-apply a new database or
// socket.
func (d *daemon) reload() {
	next, err := parseConfig(d.args, io.Discard)
	if err != nil {
		d.log.Error("SIGHUP: configuration refused; keeping the running one", "config", d.cfg.ConfigFile, "err", err)
		return
	}
	changed := 0
	for _, key := range sortedKeys(next.values) {
		old, now := d.cfg.values[key], next.values[key]
		if old == now {
			continue
		}
		changed++
		if !liveKey(key) {
			d.log.Warn("SIGHUP: setting changed; it takes effect at the next restart", "key", key, "running", old, "file", now)
			continue
		}
		switch key {
		case "log_level":
			d.level.Set(next.LogLevel)
		case "libovsdb_log_level":
			d.libLevel.Set(next.LibovsdbLogLevel)
		}
		d.cfg.values[key] = now
		d.log.Info("SIGHUP: setting applied", "key", key, "old", old, "new", now)
	}
	d.log.Info("SIGHUP: configuration read again", "config", d.cfg.ConfigFile, "changed", changed,
		"level", slog.Level(d.level.Level()).String())
}
