#!/bin/sh
# links.sh - where Slack and webhook messages link (docs/notify.md#links), against the
# loopback Slack of tests/slack-server.py: a stored run links each incident to its page,
# <chart_base_url>/incidents/<id>, with the id the store gave it in the run's own
# transaction (firing, resolved and runs-failing messages alike); a run that is not
# stored (--no-store, replay) has no incident page and links to the series' chart;
# template placeholders {incident_url}, {incident_id}, {link_url}, {chart_url}.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
S="$TMP/state"
LOG="$TMP/slack.log"
T0=1795212000           # 2026-11-20T22:00:00Z: minute 0 of the data
UI="https://vigil.example.com/ui-base"

start_slack
BASE="http://127.0.0.1:$SLACK_PORT"
ok "loopback Slack server on $BASE"

# q EXPR: a Python expression over the server's records R; K(prefix) filters by path; LINKS(r) lists
# the <url|label> links of a Slack message; INC the store's incidents (after `incidents_json`).
q() {
	python3 -c "
import json, os, re
R = [json.loads(l) for l in open('$LOG')] if os.path.exists('$LOG') else []
def K(k): return [r for r in R if r['path'].startswith(k)]
def LINKS(r): return re.findall(r'<(http[^|>]*)\|(View [a-z]+)>', json.dumps(r['payload']))
INC = json.load(open('$TMP/inc.json')) if os.path.exists('$TMP/inc.json') else []
def ID(job, series): return [i['id'] for i in INC if i['job'] == job and i['series'] == series][0]
print($1)"
}
incidents_json() { $VIGIL incidents --all --json --state "$S" > "$TMP/inc.json"; }
at() { echo $((T0 + 60 * $1)); }

# gen NAME SERIES-SPIKES...: data-NAME.csv, one point a minute for 600 minutes; each argument is
# SERIES:M1,M2 (the series is 100 at those minutes, else 10)
gen() {
	name=$1
	shift
	python3 - "$TMP/data-$name.csv" "$T0" "$@" <<'EOF'
import sys
path, t0, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
series = {s.split(":")[0]: {int(m) for m in s.split(":")[1].split(",") if m} for s in specs}
with open(path, "w") as f:
    f.write("host,ts,value\n")
    for m in range(600):
        for n, spikes in series.items():
            f.write("%s,%d,%d\n" % (n, t0 + 60 * m, 100 if m in spikes else 10))
EOF
}
# spec NAME NOTIFY-JSON [SOURCE-FILE]
spec() {
	cat > "$TMP/$1.json" <<JSON
{"name": "$1", "source": {"type": "csv", "path": "${3:-data-$1.csv}", "series_column": "host", "time_column": "ts"},
 "window": "1h", "alert": {"recent": "30m"},
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}], "notify": [$2]}
JSON
}
slack() { echo "{\"type\": \"slack\", \"webhook_url\": \"\${env:$1}\", \"chart_base_url\": \"$UI/\"${2:+, $2}}"; }
hook() { echo "{\"type\": \"webhook\", \"url\": \"\${env:$1}\", \"chart_base_url\": \"$UI\"}"; }

# --- a stored run: each incident links to its own page ------------------------------------
# "pre" opens incident 1 first, so "lk"'s incidents get ids that are not their place in the run.
export HOOK_PRE="$BASE/services/T1/B0/ok/pre" HOOK_LK="$BASE/services/T1/B1/ok/lk" WH_LK="$BASE/hook/ok/lk"
gen pre 'web-1:58'
spec pre "$(slack HOOK_PRE)"
expect_exit 0 "a job opens an incident" -- $VIGIL run --state "$S" --at "$(at 60)" "$TMP/pre.json"
gen lk 'web-1:55,56,57,58,59,150' 'web-2:57,58,59' 'calm:'
spec lk "$(slack HOOK_LK), $(hook WH_LK)"
expect_exit 0 "another job opens two incidents in one run" -- $VIGIL run --state "$S" --at "$(at 60)" "$TMP/lk.json"
incidents_json
expect_eq "$(q 'sorted((i["job"], i["series"], i["id"]) for i in INC)')" \
	"[('lk', 'web-1', 2), ('lk', 'web-2', 3), ('pre', 'web-1', 1)]" "the store numbered them 1, 2, 3"
expect_eq "$(q 'LINKS(K("/services/T1/B0/")[0])')" "[('$UI/incidents/1', 'View incident')]" \
	"the first job's message links to its incident's page"
expect_eq "$(q 'LINKS(K("/services/T1/B1/")[0])')" \
	"[('$UI/incidents/2', 'View incident'), ('$UI/incidents/3', 'View incident')]" \
	"one link per firing incident, each to the page of that incident (ids from the run's own transaction)"
expect_eq "$(q '[s["text"]["text"].split("*")[1] for s in K("/services/T1/B1/")[0]["payload"]["attachments"][0]["blocks"] if s["type"] == "section" and "incidents/" in s["text"]["text"] and s["text"]["text"].endswith("/incidents/%d|View incident>" % ID("lk", s["text"]["text"].split("*")[1]))]')" \
	"['web-1', 'web-2']" "the section of each series links to the incident of that series"
expect_eq "$(q 'K("/services/T1/B1/")[0]["violations"], K("/services/T1/B1/")[0]["status"]')" "[] 200" \
	"the message breaks no rule of Slack's"
expect_eq "$(q '[(f["series"], f["incident"]["id"], f["incident_url"]) for f in K("/hook/ok/lk")[0]["payload"]["firing"]]')" \
	"[('web-1', 2, '$UI/incidents/2'), ('web-2', 3, '$UI/incidents/3')]" \
	"the webhook entries carry the incident's id and page (never id 0)"
expect_eq "$(q 'K("/hook/ok/lk")[0]["payload"]["firing"][0]["chart_url"]')" \
	"$UI/jobs/lk/series/web-1?from=$(( ($(at 55) - 6 * 3600) * 1000 ))&to=$(( ($(at 55) + 3600) * 1000 ))" \
	"and, as before, the chart of the series around the peak"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT count(*) FROM outbox WHERE payload LIKE '%vigil-incident-%'")" 0 \
	"no id token is left in the outbox"

# --- resolved and reminded incidents link to the same pages ---------------------------------
expect_exit 0 "a run where both are back to normal" -- $VIGIL run --state "$S" --at "$(at 120)" "$TMP/lk.json"
expect_eq "$(q 'len(K("/services/T1/B1/")), LINKS(K("/services/T1/B1/")[1])')" \
	"2 [('$UI/incidents/2', 'View incident'), ('$UI/incidents/3', 'View incident')]" \
	"the resolved message links each incident to its page"
expect_eq "$(q '[(r["series"], r["incident"]["id"], r["incident_url"]) for r in K("/hook/ok/lk")[1]["payload"]["resolved"]]')" \
	"[('web-1', 2, '$UI/incidents/2'), ('web-2', 3, '$UI/incidents/3')]" "so do the webhook's resolved entries"
expect_exit 0 "web-1 fires again (a new incident)" -- $VIGIL run --state "$S" --at "$(at 160)" "$TMP/lk.json"
incidents_json
expect_eq "$(q 'sorted(i["id"] for i in INC if i["job"] == "lk" and i["series"] == "web-1")')" "[2, 4]" \
	"a second incident of web-1, id 4"
expect_eq "$(q 'LINKS(K("/services/T1/B1/")[2])')" "[('$UI/incidents/4', 'View incident')]" \
	"its message links to the new incident, not the old one"

# --- runs failing: the job-level incident's page -----------------------------------------------
export HOOK_ERR="$BASE/services/T1/B2/ok/err"
spec err "$(slack HOOK_ERR)" missing.csv
for m in 60 65; do
	expect_exit 1 "a run whose source is missing (minute $m)" -- $VIGIL run --state "$S" --at "$(at $m)" "$TMP/err.json"
done
incidents_json
expect_eq "$(q '[(i["kind"], i["id"]) for i in INC if i["job"] == "err"]')" "[('error', 5)]" "an error incident"
expect_eq "$(q 'LINKS(K("/services/T1/B2/")[0])')" "[('$UI/incidents/5', 'View incident')]" \
	"the runs-failing message links to its page"

# --- templates ---------------------------------------------------------------------------------
export HOOK_TPL="$BASE/services/T1/B3/ok/tpl"
gen tpl 'web-1:58'
spec tpl "$(slack HOOK_TPL '"template": {"text": "id={incident_id} inc={incident_url} link={link_url} chart={chart_url} {incident}"}')"
expect_exit 0 "a template with the link placeholders (stored)" -- $VIGIL run --state "$S" --at "$(at 60)" "$TMP/tpl.json"
expect_eq "$(q 'K("/services/T1/B3/")[0]["payload"]["attachments"][0]["blocks"][0]["text"]["text"]')" \
	"id=6 inc=$UI/incidents/6 link=$UI/incidents/6 chart=$UI/jobs/tpl/series/web-1?from=$(( ($(at 58) - 6 * 3600) * 1000 ))&to=$(( ($(at 58) + 3600) * 1000 )) <$UI/incidents/6|View incident>" \
	"{incident_id}, {incident_url}, {link_url} name the incident; {chart_url} the series' chart"
expect_exit 0 "the same template, not stored" -- $VIGIL run --no-store --at "$(at 60)" "$TMP/tpl.json"
expect_eq "$(q 'K("/services/T1/B3/")[1]["payload"]["attachments"][0]["blocks"][0]["text"]["text"]')" \
	"id= inc= link=$UI/jobs/tpl/series/web-1?from=$(( ($(at 58) - 6 * 3600) * 1000 ))&to=$(( ($(at 58) + 3600) * 1000 )) chart=$UI/jobs/tpl/series/web-1?from=$(( ($(at 58) - 6 * 3600) * 1000 ))&to=$(( ($(at 58) + 3600) * 1000 )) " \
	"without a stored incident, no incident placeholders, and the link is the series' chart"
spec bad "$(slack HOOK_TPL '"template": {"text": "{incident_ur}"}')"
$VIGIL validate "$TMP/bad.json" > "$TMP/out" 2>&1
expect_eq "$?" 2 "validate refuses an unknown placeholder"
expect_grep "$TMP/out" "unknown placeholder '{incident_ur}' (did you mean '{incident_url}'?)" "is refused with a suggestion"

# --- no incident page: not stored, replayed ----------------------------------------------------
export HOOK_NS="$BASE/services/T1/B4/ok/ns"
gen ns 'web-1:58'
spec ns "$(slack HOOK_NS)"
expect_exit 0 "run --no-store" -- $VIGIL run --no-store --at "$(at 60)" "$TMP/ns.json"
chart="$UI/jobs/ns/series/web-1?from=$(( ($(at 58) - 6 * 3600) * 1000 ))&to=$(( ($(at 58) + 3600) * 1000 ))"
expect_eq "$(q 'LINKS(K("/services/T1/B4/")[0])')" "[('$chart', 'View chart')]" \
	"a run that is not stored links to the series' chart (its incident has no page)"
$VIGIL replay "$TMP/ns.json" --from "$(at 60)" --to "$(at 60)" --step 5m > "$TMP/replay.out" 2>&1
expect_grep "$TMP/replay.out" "<$chart|View chart>" "so does a replay"
expect_no_grep "$TMP/replay.out" "incidents/" "with no incident link"
expect_exit 0 "a dry run of a stored job" -- $VIGIL run --dry-run --state "$S" --at "$(at 60)" "$TMP/ns.json"
expect_grep "$TMP/out" "<$chart|View chart>" "a dry run stores no incident: the chart again"
expect_no_grep "$TMP/out" "vigil-incident-" "and no id token"

finish
