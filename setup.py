"""Maps the top-level folders `core/` and `hostapi/` onto the import paths `utask.core` and `utask.hostapi`,
and ships `plugin-template/` (the plugin scaffold) as the data package `utask.scaffold`."""

from setuptools import find_packages, setup

mapped = {"utask.core": "core", "utask.hostapi": "hostapi"}
packages = []
package_dir = {}
for prefix, folder in mapped.items():
    package_dir[prefix] = folder
    packages.append(prefix)
    packages += [f"{prefix}.{name}" for name in find_packages(where=folder)]
# The cookiecutter scaffold of `utask plugin new` ships inside the distribution as data.
package_dir["utask.scaffold"] = "plugin-template"
packages.append("utask.scaffold")

setup(
    packages=packages,
    package_dir=package_dir,
    include_package_data=True,
    package_data={"utask.core": ["**/*.sql", "**/*.json", "**/*.ini", "**/*.mako", "**/*.py.tmpl"],
                  "utask.hostapi": ["**/*.html", "**/*.js", "**/*.css", "**/*.svg", "**/*.json"],
                  "utask.scaffold": ["*", "**/*"]},
)
