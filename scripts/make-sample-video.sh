#!/usr/bin/env bash
# Makes samples/sample-video.webm, the seekable video that GET /v1/files/sample-video.webm serves and
# the page's "Video" view plays: 12 s of ffmpeg's built-in test pattern with a running clock, VP9 in
# WebM with a keyframe every second (so a seek lands near where it is asked) and the Cues index that
# makes WebM seekable. Nothing is downloaded; the file is committed so `npm install` needs no ffmpeg.
# Run it again (Debian: apt-get install ffmpeg) only to change the video.
set -euo pipefail
cd "$(dirname "$0")/.."
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=320x180:rate=24:duration=12" \
  -vf "drawtext=text='sluice %{pts\\:hms}':x=10:y=10:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.6" \
  -c:v libvpx-vp9 -b:v 120k -g 24 -keyint_min 24 -pix_fmt yuv420p -an \
  -metadata title="sluice sample video" \
  samples/sample-video.webm
ls -l samples/sample-video.webm
