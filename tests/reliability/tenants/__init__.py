"""Tenants (issue 11): a user of another organisation finds nothing of acme's, anywhere.

Nothing is hand-listed. The API routes come from the URL resolver (methods from the viewsets'
actions, request bodies from the serializers drf-spectacular documents, query parameters from
the OpenAPI schema); the admin pages from the admin site's URL patterns, each ModelAdmin's
actions and autocomplete fields; the dashboard pages from the rest of the URL map. A new
endpoint, admin page or action is swept the day it is added, and test_the_sweep_knows_every_url
fails if a route has a URL parameter the sweep does not know how to fill.

For charlie (globex's admin; for the admin pages also staff with every permission of our apps):
- any URL naming one of acme's objects answers exactly what the same URL naming an object that
  exists nowhere (GHOST) answers: same status, same redirect, same message, same body; so a 404
  (or the admin's "doesn't exist" redirect), never a 403 or anything that confirms it exists;
- a body that refers to acme's objects is refused exactly like one that refers to nothing;
- lists, summaries, change lists, overviews and autocompletes are the same with and without
  acme in the database, and show none of the distinctive strings and figures of acme's rows;
- nothing changes: the whole database is compared before and after, no AWS API is called, no
  e-mail is sent.
For bob (acme's viewer): every API write on his own organisation's objects is a 403, and the
dashboard and admin writes change nothing either (only the refused stop/start attempts that
the audit log records by design).
"""
