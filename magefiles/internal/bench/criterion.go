package bench

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CriterionHome is where rust:bench points criterion (CRITERION_HOME), so
// its output does not depend on how criterion finds the target directory.
const CriterionHome = "criterion"

// ReadCriterion collects the benchmarks criterion measured into dir since
// a time: each <id>/new/ holds benchmark.json (the id), estimates.json
// (mean, median, standard deviation in ns) and sample.json (iterations per
// sample). Older directories are left-overs of earlier runs (a benchmark
// since renamed or filtered out) and are skipped.
func ReadCriterion(dir string, since time.Time) ([]RustBench, error) {
	var out []RustBench
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "benchmark.json" || filepath.Base(filepath.Dir(path)) != "new" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().Before(since) {
			return nil
		}
		b, err := readCriterionDir(filepath.Dir(path))
		if err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	if os.IsNotExist(err) {
		return nil, nil
	}
	slices.SortFunc(out, func(a, b RustBench) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

type criterionID struct {
	FullID string `json:"full_id"`
}

type estimate struct {
	PointEstimate float64 `json:"point_estimate"`
}

type criterionEstimates struct {
	Mean   estimate `json:"mean"`
	Median estimate `json:"median"`
	StdDev estimate `json:"std_dev"`
}

type criterionSample struct {
	Iters []float64 `json:"iters"`
}

func readCriterionDir(dir string) (RustBench, error) {
	var (
		id  criterionID
		est criterionEstimates
		smp criterionSample
	)
	for name, v := range map[string]any{"benchmark.json": &id, "estimates.json": &est, "sample.json": &smp} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return RustBench{}, fmt.Errorf("criterion output: %w", err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return RustBench{}, fmt.Errorf("criterion output %s: %w", filepath.Join(dir, name), err)
		}
	}
	if id.FullID == "" {
		return RustBench{}, fmt.Errorf("criterion output %s: no full_id", filepath.Join(dir, "benchmark.json"))
	}
	var iters float64
	for _, n := range smp.Iters {
		iters += n
	}
	return RustBench{
		Name:       id.FullID,
		MeanNs:     est.Mean.PointEstimate,
		MedianNs:   est.Median.PointEstimate,
		StdDevNs:   est.StdDev.PointEstimate,
		Samples:    len(smp.Iters),
		Iterations: int64(iters),
	}, nil
}
