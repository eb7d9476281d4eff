"""gunicorn settings for the web process (`Procfile`: `gunicorn -c portal/gunicorn.conf.py portal.wsgi`).

Everything comes from the environment, like portal/settings.py:
- `HOST` and `PORT`: the address to listen on (default 127.0.0.1:8000; behind a proxy on the same
  machine keep 127.0.0.1, in a container use 0.0.0.0);
- `WEB_CONCURRENCY`: worker processes (default 3);
- `WEB_TIMEOUT`: seconds before a silent worker is killed (default 60).

No control socket: gunicorn 27 puts one per user in ~/.gunicorn/, which a second instance on the
same machine would take over (and delete on exit). Logs go to standard error in the portal's one
format: ISO 8601 timestamps in UTC (portal/logging.py).
"""

import os

from portal.logging import logging_config

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = logging_config(os.environ.get("DJANGO_LOG_LEVEL", "INFO"), gunicorn=True)
