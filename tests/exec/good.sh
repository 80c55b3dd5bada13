#!/bin/sh
# good.sh - a well-behaved external detector in POSIX shell: algorithm
# "magic" flags values equal to 42 (one request per line; sed does the JSON).
while IFS= read -r line; do
	id=$(printf '%s\n' "$line" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
	case $line in
	*'"method":"describe"'*)
		printf '{"id":%s,"protocol":1,"detectors":[{"name":"magic","params":{"a":{"type":"number","default":0}}}]}\n' "$id"
		continue ;;
	esac
	values=$(printf '%s\n' "$line" | sed -n 's/.*"values":\[\([^]]*\)\].*/\1/p')
	scores="" anomalies="" i=0
	IFS=,
	for v in $values; do
		s=0
		if [ "$v" = 42 ]; then
			s=1
			anomalies="$anomalies${anomalies:+,}{\"index\":$i,\"reason\":\"the answer\"}"
		fi
		scores="$scores${scores:+,}$s"
		i=$((i + 1))
	done
	unset IFS
	printf '{"id":%s,"scores":[%s],"anomalies":[%s]}\n' "$id" "$scores" "$anomalies"
done
