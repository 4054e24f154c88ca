/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fd.h - closing what a forked child of openvmbusd must not keep: the
 * service devices allow one opener, so a hook or the backup watchdog that
 * kept one open would lock a restarted daemon out.
 */
#ifndef OPENVMBUSD_FD_H
#define OPENVMBUSD_FD_H

/* Close descriptors lo..hi (close_range(2), or one by one before Linux 5.9). */
void fd_close_range(unsigned int lo, unsigned int hi);

#endif
