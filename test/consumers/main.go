// Command k8s-validate answers, for each value on stdin, whether the Kubernetes API server would
// take it where the stack puts it, with the very functions the API server validates with:
// k8s.io/apimachinery's validation (label values, label keys, DNS labels and subdomains) and
// robfig/cron's ParseStandard (a CronJob's schedule). test/consumers.spec.ts compares the
// stack's own validators (settings/validate.ts) with these answers.
//
// Input: a JSON array of {"kind": ..., "value": ...}; output: a JSON array of {"ok": bool, "why": string}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

type query struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

type answer struct {
	OK  bool   `json:"ok"`
	Why string `json:"why,omitempty"`
}

func check(q query) answer {
	var errs []string
	switch q.Kind {
	case "cron":
		// As the API server validates a CronJob's schedule (pkg/apis/batch/validation).
		if _, err := cron.ParseStandard(q.Value); err != nil {
			errs = append(errs, err.Error())
		}
		if strings.Contains(q.Value, "TZ") {
			errs = append(errs, "TZ is not allowed")
		}
	case "label-value":
		errs = validation.IsValidLabelValue(q.Value)
	case "label-key":
		errs = validation.IsQualifiedName(q.Value)
	case "dns-label":
		errs = validation.IsDNS1123Label(q.Value)
	case "dns-subdomain":
		errs = validation.IsDNS1123Subdomain(q.Value)
	default:
		errs = []string{fmt.Sprintf("unknown kind %q", q.Kind)}
	}
	return answer{OK: len(errs) == 0, Why: strings.Join(errs, "; ")}
}

func main() {
	var queries []query
	if err := json.NewDecoder(os.Stdin).Decode(&queries); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
	answers := make([]answer, len(queries))
	for i, q := range queries {
		answers[i] = check(q)
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate:", err)
		os.Exit(2)
	}
}
