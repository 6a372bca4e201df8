package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"sync"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// plainRig is one rig as a plain loop of the drivers sees it: no fleet,
// no switcher.
type plainRig struct {
	fw string
	t  *device.Target
}

// plainRigs builds targets from the inventory with the options the
// policy's groups give (hall.Groups: user root for antminer and
// braiins, the hall's password except for luxos, which has none).
func plainRigs(inv []byte, timeout time.Duration) ([]plainRig, error) {
	rows, err := csv.NewReader(bytes.NewReader(inv)).ReadAll()
	if err != nil {
		return nil, err
	}
	opts := map[string]*device.Options{}
	for _, fw := range []string{"antminer", "braiins", "luxos", "whatsminer", "vnish"} {
		o := &device.Options{Timeout: timeout}
		if fw != "luxos" {
			o.Password = device.NewSecret("hall-pass")
		}
		if fw == "antminer" || fw == "braiins" {
			o.User = "root"
		}
		opts[fw] = o
	}
	rigs := make([]plainRig, 0, len(rows))
	for _, r := range rows[1:] {
		rigs = append(rigs, plainRig{fw: r[2], t: &device.Target{Rig: r[0], Address: r[1], Options: opts[r[2]]}})
	}
	return rigs, nil
}

// plainLoop makes one call per rig from `workers` goroutines and returns
// the wall time and the errors.
func plainLoop(drivers map[string]device.Driver, rigs []plainRig, workers int, call func(d device.Driver, r plainRig) error) (time.Duration, int) {
	jobs := make(chan plainRig, len(rigs))
	for _, r := range rigs {
		jobs <- r
	}
	close(jobs)
	var mu sync.Mutex
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range min(workers, len(rigs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for r := range jobs {
				if call(drivers[r.fw], r) != nil {
					n++
				}
			}
			mu.Lock()
			errs += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return time.Since(start), errs
}

func plainRead(d device.Driver, r plainRig) error {
	_, err := d.Read(context.Background(), r.t)
	return err
}

func plainCurtail(d device.Driver, r plainRig) error { return d.Curtail(context.Background(), r.t) }
func plainResume(d device.Driver, r plainRig) error  { return d.Resume(context.Background(), r.t) }

func plainReadLight(d device.Driver, r plainRig) error {
	_, err := d.(device.LightReader).ReadLight(context.Background(), r.t)
	return err
}
