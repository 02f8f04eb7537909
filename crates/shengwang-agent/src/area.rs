//! Service areas and their hosts (rest-api.md §1).

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Where the ConvoAI gateway is. The default is mainland China.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Area {
    /// Chinese mainland (`/cn/api/conversational-ai-agent`).
    #[default]
    Cn,
    /// United States (west, then east).
    Us,
    /// Europe (west, then central).
    Eu,
    /// Asia-Pacific (south-east, then north-east).
    Ap,
}

impl Area {
    /// Region prefixes, in failover order.
    pub fn regions(self) -> &'static [&'static str] {
        match self {
            Area::Cn => &["api"],
            Area::Us => &["api-us-west-1", "api-us-east-1"],
            Area::Eu => &["api-eu-west-1", "api-eu-central-1"],
            Area::Ap => &["api-ap-southeast-1", "api-ap-northeast-1"],
        }
    }

    /// Domain suffixes, in preference order. CN's second domain serves the same `/cn/` path,
    /// so CN gets a failover host the Python SDK does not use.
    pub fn domains(self) -> &'static [&'static str] {
        &["agora.io", "sd-rtn.com"]
    }

    /// The path every URL of this area starts with.
    pub fn path(self) -> &'static str {
        match self {
            Area::Cn => "/cn/api/conversational-ai-agent",
            _ => "/api/conversational-ai-agent",
        }
    }

    /// Every base URL of the area, in failover order: each region on its first domain, then
    /// each region on the next domain.
    pub fn base_urls(self) -> Vec<String> {
        self.domains()
            .iter()
            .flat_map(|d| {
                self.regions()
                    .iter()
                    .map(move |r| format!("https://{r}.{d}{}", self.path()))
            })
            .collect()
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Area::Cn => "cn",
            Area::Us => "us",
            Area::Eu => "eu",
            Area::Ap => "ap",
        })
    }
}

impl FromStr for Area {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "cn" => Ok(Area::Cn),
            "us" => Ok(Area::Us),
            "eu" => Ok(Area::Eu),
            "ap" => Ok(Area::Ap),
            _ => Err(Error::invalid("area", "must be one of cn, us, eu, ap")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cn_keeps_its_path_on_both_domains_and_others_alternate_regions() {
        assert_eq!(
            Area::Cn.base_urls(),
            [
                "https://api.agora.io/cn/api/conversational-ai-agent",
                "https://api.sd-rtn.com/cn/api/conversational-ai-agent"
            ]
        );
        assert_eq!(
            Area::Us.base_urls()[..2],
            [
                "https://api-us-west-1.agora.io/api/conversational-ai-agent",
                "https://api-us-east-1.agora.io/api/conversational-ai-agent"
            ]
        );
        assert_eq!("EU".parse::<Area>().unwrap(), Area::Eu);
        assert!("mars".parse::<Area>().is_err());
    }
}
