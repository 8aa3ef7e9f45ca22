// The admin's app list (the « sidebar) takes 280 px: on a laptop screen, narrower than
// 1440 px, it starts folded away so that change lists keep all their columns. The « button
// opens it, and Django remembers that choice; a choice already made is never overridden.
(function () {
  "use strict";
  var key = "django.admin.navSidebarIsOpen";
  try {
    if (window.innerWidth < 1440 && window.localStorage.getItem(key) === null) {
      window.localStorage.setItem(key, "false");
    }
  } catch (blocked) {
    // Storage disabled: Django's default (open) applies.
  }
})();
