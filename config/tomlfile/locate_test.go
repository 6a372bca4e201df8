package tomlfile

import "testing"

func TestLocate(t *testing.T) {
	src := "\xef\xbb\xbf" + `# comment [not.a.table]
title = """
[fake]
key = "no" """
'quoted.key' = 1
"esc\"aped" = 'lit'
[a . "b"]   # header
x = [ [1, 2], ["]", '['], ] # nested
y = {p = 1, q.r = "}"}
[[t]]
k = 1
[t.sub]
m = 2
[[t]]
k = 2
[[t.arr]]
n = 3
`
	want := map[string]position{
		"title":         {2, 1},
		"quoted.key":    {5, 1},
		`esc"aped`:      {6, 1},
		"a":             {7, 1},
		"a.b":           {7, 1},
		"a.b.x":         {8, 1},
		"a.b.x[0]":      {8, 7},
		"a.b.x[0][1]":   {8, 11},
		"a.b.x[1][1]":   {8, 21},
		"a.b.y":         {9, 1},
		"a.b.y.p":       {9, 6},
		"a.b.y.q.r":     {9, 13},
		"t":             {10, 1},
		"t[0]":          {10, 1},
		"t[0].k":        {11, 1},
		"t[0].sub":      {12, 1},
		"t[0].sub.m":    {13, 1},
		"t[1]":          {14, 1},
		"t[1].k":        {15, 1},
		"t[1].arr[0]":   {16, 1},
		"t[1].arr[0].n": {17, 1},
	}
	got := locate(src)
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s at %v (found %v), want %v", k, g, ok, w)
		}
	}
	for _, k := range []string{"fake", "key", "fake.key"} {
		if _, ok := got[k]; ok {
			t.Errorf("found %q, which is inside a string", k)
		}
	}
}
