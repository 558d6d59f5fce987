// mkproxy turns a tree of module sources into a GOPROXY=file:// layout.
//
//	go run mkproxy.go SRC DST
//
// SRC holds one directory per module version, named "<module path with / as
// !>@<version>" (e.g. "example.com!dep@v1.0.0"); each must contain go.mod.
// A file "<version>.info" next to that directory, if present, is copied as the
// version's .info (to add an Origin); "<query>.alias" files holding a version
// make the proxy answer that query (e.g. a commit hash) with that version.
package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

var pseudo = regexp.MustCompile(`[.-]\d{14}-[0-9a-f]{12}$`)

func escape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkproxy:", err)
		os.Exit(1)
	}
}

func main() {
	src, dst := os.Args[1], os.Args[2]
	entries, err := os.ReadDir(src)
	must(err)
	lists := map[string][]string{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		mod, ver, ok := strings.Cut(e.Name(), "@")
		must(map[bool]error{true: nil, false: fmt.Errorf("bad dir %s", e.Name())}[ok])
		mod = strings.ReplaceAll(mod, "!", "/")
		vdir := filepath.Join(dst, escape(mod), "@v")
		must(os.MkdirAll(vdir, 0o755))
		root := filepath.Join(src, e.Name())
		gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
		must(err)
		must(os.WriteFile(filepath.Join(vdir, ver+".mod"), gomod, 0o644))
		info, err := os.ReadFile(filepath.Join(src, e.Name()+".info"))
		if err != nil {
			info, _ = json.Marshal(map[string]any{"Version": ver, "Time": time.Date(2026, 10, 16, 18, 26, 30, 0, time.UTC)})
		}
		must(os.WriteFile(filepath.Join(vdir, ver+".info"), info, 0o644))
		aliases, _ := filepath.Glob(filepath.Join(src, e.Name()+".*.alias"))
		for _, a := range aliases {
			q := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(a), e.Name()+"."), ".alias")
			must(os.WriteFile(filepath.Join(vdir, q+".info"), info, 0o644))
		}
		zf, err := os.Create(filepath.Join(vdir, ver+".zip"))
		must(err)
		zw := zip.NewWriter(zf)
		must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			// Like the real proxy: nested modules are not part of the zip.
			for dir := filepath.Dir(rel); dir != "."; dir = filepath.Dir(dir) {
				if _, err := os.Stat(filepath.Join(root, dir, "go.mod")); err == nil {
					return nil
				}
			}
			w, err := zw.Create(mod + "@" + ver + "/" + filepath.ToSlash(rel))
			if err != nil {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = w.Write(b)
			return err
		}))
		must(zw.Close())
		must(zf.Close())
		lists[vdir] = append(lists[vdir], ver)
	}
	for vdir, vs := range lists {
		var tagged []string
		for _, v := range vs {
			if !pseudo.MatchString(v) {
				tagged = append(tagged, v)
			}
		}
		must(os.WriteFile(filepath.Join(vdir, "list"), []byte(strings.Join(tagged, "\n")+"\n"), 0o644))
	}
}
