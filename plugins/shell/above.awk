# above.awk - the awk part of above.sh (one request per run of awk).
# An external detector in awk, to show the protocol is language
# neutral (docs/exec-protocol.md).  Algorithm "above" flags values above the
# param "limit".  It reads the few fields it needs with regular expressions,
# which is enough for the requests vigil sends (one JSON object per line,
# no spaces); a real detector should use a JSON parser.
function field(name,    re) {
	re = "\"" name "\":-?[0-9.eE+-]+"
	if (!match($0, re)) return ""
	return substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
}
{
	id = field("id")
	if ($0 ~ /"method":"describe"/) {
		printf "{\"id\":%s,\"protocol\":1,\"detectors\":[{\"name\":\"above\",\"version\":\"1.0.0\",", id
		printf "\"summary\":\"flags values above a limit (awk)\",\"min_history\":0,"
		printf "\"params\":{\"limit\":{\"type\":\"number\",\"doc\":\"flag values above this\"}}}]}\n"
		fflush()
		next
	}
	limit = field("limit") + 0
	if (!match($0, /"values":\[[^]]*\]/)) {
		printf "{\"id\":%s,\"error\":{\"message\":\"no values in the request\"}}\n", id
		fflush()
		next
	}
	n = split(substr($0, RSTART + 10, RLENGTH - 11), v, ",")
	scores = ""; anomalies = ""
	for (i = 1; i <= n; i++) {
		hit = v[i] != "null" && v[i] !~ /"/ && v[i] + 0 > limit
		scores = scores (i > 1 ? "," : "") (hit ? 1 : 0)
		if (hit)
			anomalies = anomalies (anomalies != "" ? "," : "") sprintf("{\"index\":%d,\"reason\":\"%s above %s\"}", i - 1, v[i], limit)
	}
	printf "{\"id\":%s,\"scores\":[%s],\"anomalies\":[%s],\"warmup\":0}\n", id, scores, anomalies
	fflush()
}
