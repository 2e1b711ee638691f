// Package cost prices a plan by the month: a table of on-demand list prices (prices.tsv, with
// each figure's source and status) and the lines of an estimate, each a quantity at a unit
// price. It knows prices, not programs: the program says what it runs and how much of it.
package cost

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// HoursPerMonth is AWS's month for hourly prices (its calculator's 730 hours).
const HoursPerMonth = 730

//go:embed prices.tsv
var pricesTSV string

// Price is one list price: what a unit of an item costs in a region.
type Price struct {
	Region, Service, Item, UsageType, Unit string
	USD                                    float64
	// Status is "sourced" (read in a quotation of the AWS Price List or a bill) or "derived"
	// (computed from other prices: an estimate); Source says which.
	Status, Source, SourceDate string
}

// Estimated is true for a derived price.
func (p Price) Estimated() bool { return p.Status != "sourced" }

// Table is a price file.
type Table struct {
	prices map[string]Price // region + " " + item
}

// Prices is the project's price file.
func Prices() (*Table, error) { return ParseTable(pricesTSV) }

// ParseTable reads a price file: tab-separated, a header row, "#" comments.
func ParseTable(text string) (*Table, error) {
	t := &Table{prices: map[string]Price{}}
	header := true
	for n, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 9 {
			return nil, fmt.Errorf("price file line %d: %d columns, want 10", n+1, len(f))
		}
		usd, err := strconv.ParseFloat(f[5], 64)
		if err != nil || usd < 0 {
			return nil, fmt.Errorf("price file line %d: price %q is not a non-negative number", n+1, f[5])
		}
		p := Price{Region: f[0], Service: f[1], Item: f[2], UsageType: f[3], Unit: f[4], USD: usd, Status: f[6], Source: f[7], SourceDate: f[8]}
		t.prices[p.Region+" "+p.Item] = p
	}
	return t, nil
}

// MissingPriceError is a price the table does not have: never priced as zero.
type MissingPriceError struct{ Region, Item string }

func (e *MissingPriceError) Error() string {
	return fmt.Sprintf("no price of %s in %s in the price file (internal/cost/prices.tsv): add its row, with its source, "+
		"from the AWS Price List (scripts/refresh-prices.sh, or aws pricing get-products)", e.Item, e.Region)
}

// Lookup is the price of an item in a region, or in every region ("all", "global").
func (t *Table) Lookup(region, item string) (Price, error) {
	for _, r := range []string{region, "all", "global"} {
		if p, ok := t.prices[r+" "+item]; ok {
			return p, nil
		}
	}
	return Price{}, &MissingPriceError{region, item}
}

// Line is one priced quantity.
type Line struct {
	// Area groups lines: "compute", "database", "dr" ...
	Area     string  `json:"area"`
	What     string  `json:"what"`
	Quantity float64 `json:"quantity"`
	Unit     string  `json:"unit"`
	Price    Price   `json:"-"`
	// Monthly is Quantity times the unit price.
	Monthly float64 `json:"monthly"`
}

// MarshalJSON adds the price's item, region, value and status.
func (l Line) MarshalJSON() ([]byte, error) {
	type plain Line
	return json.Marshal(struct {
		plain
		Item      string  `json:"item"`
		Region    string  `json:"region"`
		UnitPrice float64 `json:"unitPrice"`
		Status    string  `json:"status"`
	}{plain(l), l.Price.Item, l.Price.Region, l.Price.USD, l.Price.Status})
}

// Estimate is a stack's monthly cost.
type Estimate struct {
	Stack string `json:"stack"`
	Lines []Line `json:"lines"`
	// Assumptions are the usage figures no plan holds, as used.
	Assumptions map[string]float64 `json:"assumptions"`
	Total       float64            `json:"total"`
	// Estimated is the part of the total priced with derived prices.
	Estimated float64 `json:"estimated"`
}

// Builder adds lines to an estimate, failing on the first missing price.
type Builder struct {
	table  *Table
	region string
	e      *Estimate
	err    error
}

// NewBuilder starts an estimate of a stack in a region.
func NewBuilder(t *Table, stack, region string, assumptions map[string]float64) *Builder {
	return &Builder{table: t, region: region, e: &Estimate{Stack: stack, Assumptions: assumptions}}
}

// Add prices a quantity of an item of the stack's region; a zero quantity adds nothing.
func (b *Builder) Add(area, what string, quantity float64, item string) {
	b.AddIn(b.region, area, what, quantity, item)
}

// AddIn prices a quantity of an item of another region (the DR region's copies).
func (b *Builder) AddIn(region, area, what string, quantity float64, item string) {
	if b.err != nil || quantity == 0 {
		return
	}
	p, err := b.table.Lookup(region, item)
	if err != nil {
		b.err = err
		return
	}
	quantity = math.Round(quantity*1e6) / 1e6
	b.e.Lines = append(b.e.Lines, Line{Area: area, What: what, Quantity: quantity, Unit: p.Unit, Price: p, Monthly: round(quantity * p.USD)})
}

// AddShare prices a quantity at a share of an item's price (Fargate Spot's of on-demand's),
// nil for the whole price; the line is an estimate when the share is.
func (b *Builder) AddShare(area, what string, quantity float64, item string, share *Price) {
	b.Add(area, what, quantity, item)
	if share == nil || b.err != nil || quantity == 0 {
		return
	}
	l := &b.e.Lines[len(b.e.Lines)-1]
	l.Price.USD = math.Round(l.Price.USD*share.USD*1e6) / 1e6
	l.Price.Source = l.Price.Source + "; times " + share.Item + " (" + share.Source + ")"
	if share.Estimated() {
		l.Price.Status = share.Status
	}
	l.Monthly = round(l.Quantity * l.Price.USD)
}

// Estimate is the estimate built, or the first missing price.
func (b *Builder) Estimate() (*Estimate, error) {
	if b.err != nil {
		return nil, b.err
	}
	e := b.e
	e.Total, e.Estimated = 0, 0
	for _, l := range e.Lines {
		e.Total += l.Monthly
		if l.Price.Estimated() {
			e.Estimated += l.Monthly
		}
	}
	e.Total, e.Estimated = round(e.Total), round(e.Estimated)
	return e, nil
}

// round is to the cent.
func round(v float64) float64 { return math.Round(v*100) / 100 }

// ByArea is the monthly total of each area.
func (e *Estimate) ByArea() map[string]float64 {
	out := map[string]float64{}
	for _, l := range e.Lines {
		out[l.Area] += l.Monthly
	}
	for k, v := range out {
		out[k] = round(v)
	}
	return out
}

// WriteText prints the estimate line by line, with the assumptions and what is estimated.
func (e *Estimate) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Monthly cost of %s, on-demand list prices (USD, %d hours a month):\n\n", e.Stack, HoursPerMonth)
	fmt.Fprintf(w, "  %-10s %-58s %12s %-12s %10s %10s\n", "area", "what", "quantity", "unit", "unit price", "monthly")
	for _, l := range e.Lines {
		mark := ""
		if l.Price.Estimated() {
			mark = " *"
		}
		fmt.Fprintf(w, "  %-10s %-58s %12s %-12s %10s %10.2f%s\n", l.Area, l.What, trim(l.Quantity), l.Unit, trim(l.Price.USD), l.Monthly, mark)
	}
	fmt.Fprintf(w, "\n  %-10s %-58s %12s %-12s %10s %10.2f\n", "total", "", "", "", "", e.Total)
	if e.Estimated > 0 {
		fmt.Fprintf(w, "\n* priced with a derived price (an estimate: internal/cost/prices.tsv gives its arithmetic): $%.2f of the total\n", e.Estimated)
	}
	fmt.Fprintln(w, "\nUsage the plan cannot know, as assumed (override with --usage key=value):")
	for _, k := range slices.Sorted(maps.Keys(e.Assumptions)) {
		fmt.Fprintf(w, "  %s = %s\n", k, trim(e.Assumptions[k]))
	}
}

// trim writes a number without trailing zeros.
func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Areas are the areas in the order estimates list them.
var Areas = []string{"compute", "database", "cache", "network", "storage", "security", "monitoring", "firewall", "dr"}

// Sort orders the lines by area, then as added.
func (e *Estimate) Sort() {
	slices.SortStableFunc(e.Lines, func(a, b Line) int { return slices.Index(Areas, a.Area) - slices.Index(Areas, b.Area) })
}

// digits are what a line's description says of quantities, which a change may change while the
// line stays the same line.
var digits = regexp.MustCompile(`[0-9]+(\.[0-9]+)?`)

// key is what pairs a line with its counterpart in another estimate: its area, item, region and
// description with the numbers left out ("backend: # tasks, vCPU").
func (l Line) key() string {
	return l.Area + "|" + l.Price.Item + "|" + l.Price.Region + "|" + digits.ReplaceAllString(l.What, "#")
}

// Change is a line of a comparison: what a line costs before and after.
type Change struct {
	Area   string  `json:"area"`
	What   string  `json:"what"`
	Before float64 `json:"before"`
	After  float64 `json:"after"`
	Delta  float64 `json:"delta"`
}

// Comparison is what a change of a stack costs by the month.
type Comparison struct {
	Stack   string   `json:"stack"`
	Before  float64  `json:"before"`
	After   float64  `json:"after"`
	Delta   float64  `json:"delta"`
	Changes []Change `json:"changes"`
}

// Compare pairs two estimates' lines and lists the ones whose cost changes.
func Compare(before, after *Estimate) *Comparison {
	c := &Comparison{Stack: after.Stack, Before: before.Total, After: after.Total, Delta: round(after.Total - before.Total), Changes: []Change{}}
	old := map[string]Line{}
	for _, l := range before.Lines {
		old[l.key()] = l
	}
	seen := map[string]bool{}
	for _, l := range after.Lines {
		k := l.key()
		seen[k] = true
		b := old[k]
		if d := round(l.Monthly - b.Monthly); d != 0 {
			c.Changes = append(c.Changes, Change{Area: l.Area, What: l.What, Before: b.Monthly, After: l.Monthly, Delta: d})
		}
	}
	for _, l := range before.Lines {
		if !seen[l.key()] {
			c.Changes = append(c.Changes, Change{Area: l.Area, What: l.What, Before: l.Monthly, Delta: -l.Monthly})
		}
	}
	return c
}

// WriteText prints the lines whose cost changes and the totals.
func (c *Comparison) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Monthly cost of %s: $%.2f -> $%.2f (%+.2f)\n", c.Stack, c.Before, c.After, c.Delta)
	if len(c.Changes) == 0 {
		fmt.Fprintln(w, "  no line changes")
		return
	}
	for _, ch := range c.Changes {
		fmt.Fprintf(w, "  %-10s %-58s %10.2f -> %10.2f  %+10.2f\n", ch.Area, ch.What, ch.Before, ch.After, ch.Delta)
	}
}

// ParseEstimate reads an estimate "cost --json" printed; its lines keep their items, regions
// and statuses.
func ParseEstimate(data []byte) (*Estimate, error) {
	var raw struct {
		Stack string `json:"stack"`
		Lines []struct {
			Area, What, Unit, Item, Region, Status string
			Quantity, UnitPrice, Monthly           float64
		} `json:"lines"`
		Assumptions map[string]float64 `json:"assumptions"`
		Total       float64            `json:"total"`
		Estimated   float64            `json:"estimated"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not the JSON of \"cost --json\": %w", err)
	}
	if raw.Stack == "" || raw.Lines == nil {
		return nil, errors.New(`not the JSON of "cost --json": no stack or lines`)
	}
	e := &Estimate{Stack: raw.Stack, Assumptions: raw.Assumptions, Total: raw.Total, Estimated: raw.Estimated}
	for _, l := range raw.Lines {
		e.Lines = append(e.Lines, Line{Area: l.Area, What: l.What, Quantity: l.Quantity, Unit: l.Unit, Monthly: l.Monthly,
			Price: Price{Item: l.Item, Region: l.Region, Unit: l.Unit, USD: l.UnitPrice, Status: l.Status}})
	}
	return e, nil
}
